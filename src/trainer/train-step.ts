/**
 * Runs the compiled train-step graph: forward pass, loss and the gradient of every trainable
 * parameter, with the parameters passed in as inputs. No backpropagation is written by hand here.
 */
import type ort from 'onnxruntime-node';
import { BaheError, ErrorCode } from '../errors.js';
import type { BatchShape, BatchTensors } from './batch.js';
import { DATA_INPUTS, graphFeeds, LABEL_INPUTS, type ParameterEntry, requireGraphIO } from './feeds.js';

export type { ParameterEntry };

export interface TrainStepResult {
  /** Weighted mean binary cross-entropy of the batch, before the update. */
  loss: number;
  /** Pre-update logits, one per row (padding rows included). */
  logits: Float32Array;
  gradients: Map<string, Float32Array>;
}

export class TrainStepGraph {
  readonly #session: ort.InferenceSession;
  readonly #parameters: readonly ParameterEntry[];
  readonly #shape: BatchShape;

  constructor(session: ort.InferenceSession, parameters: readonly ParameterEntry[], shape: BatchShape) {
    const names = parameters.map((p) => p.name);
    requireGraphIO(
      session,
      'train-step',
      [...names, ...DATA_INPUTS, ...LABEL_INPUTS],
      ['loss', 'logit', ...names.map((name) => `grad.${name}`)],
    );
    this.#session = session;
    this.#parameters = parameters;
    this.#shape = shape;
  }

  async run(parameters: ReadonlyMap<string, Float32Array>, batch: BatchTensors): Promise<TrainStepResult> {
    const feeds = graphFeeds(this.#shape, this.#parameters, parameters, batch, true);

    let outputs: ort.InferenceSession.OnnxValueMapType;
    try {
      outputs = await this.#session.run(feeds);
    } catch (cause) {
      throw new BaheError(ErrorCode.MODEL_RUN_FAILED, 'the train-step graph failed to run; see the cause', {
        cause,
        retryable: false,
      });
    }

    const output = (name: string): Float32Array => {
      const tensor = outputs[name];
      if (tensor === undefined) {
        throw new BaheError(
          ErrorCode.MODEL_INVALID,
          `train-step graph has no output ${name}; re-run the model compiler`,
        );
      }
      return tensor.data as Float32Array;
    };
    const gradients = new Map<string, Float32Array>();
    for (const { name } of this.#parameters) gradients.set(name, output(`grad.${name}`));
    return { loss: output('loss')[0] as number, logits: output('logit'), gradients };
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
