/**
 * Runs the compiled train-step graph: forward pass, loss and the gradient of every trainable
 * parameter, with the parameters passed in as inputs. No backpropagation is written by hand here.
 */
import ort from 'onnxruntime-node';
import { BaheError, ErrorCode } from '../errors.js';
import type { BatchShape, BatchTensors } from './batch.js';

export interface ParameterEntry {
  name: string;
  shape: readonly number[];
}

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
    const inputs = new Set(session.inputNames);
    const missing = [
      ...parameters.map((p) => p.name),
      'history',
      'history_mask',
      'item',
      'side',
      'label',
      'weight',
    ].filter((name) => !inputs.has(name));
    if (missing.length > 0) {
      throw new BaheError(
        ErrorCode.MODEL_INVALID,
        `train-step graph lacks inputs ${missing.slice(0, 5).join(', ')}; re-run the model compiler for this manifest`,
      );
    }
    this.#session = session;
    this.#parameters = parameters;
    this.#shape = shape;
  }

  async run(parameters: ReadonlyMap<string, Float32Array>, batch: BatchTensors): Promise<TrainStepResult> {
    const { rows, behaviorTypes, maxHistoryPerType, hiddenSize, sideFeatureCount } = this.#shape;
    const types = behaviorTypes.length;
    const feeds: Record<string, ort.Tensor> = {
      history: new ort.Tensor('float32', batch.history, [rows, types, maxHistoryPerType, hiddenSize]),
      history_mask: new ort.Tensor('float32', batch.historyMask, [rows, types, maxHistoryPerType]),
      item: new ort.Tensor('float32', batch.item, [rows, hiddenSize]),
      side: new ort.Tensor('float32', batch.side, [rows, sideFeatureCount]),
      label: new ort.Tensor('float32', batch.label, [rows]),
      weight: new ort.Tensor('float32', batch.weight, [rows]),
    };
    for (const { name, shape } of this.#parameters) {
      const value = parameters.get(name);
      if (value === undefined) throw new RangeError(`no value for parameter ${name}`);
      feeds[name] = new ort.Tensor('float32', value, [...shape]);
    }

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
