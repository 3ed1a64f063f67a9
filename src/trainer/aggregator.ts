/**
 * Runs the compiled aggregator graph (upper layers + CTR head, forward only) to score impressions
 * with a given set of parameters.
 */
import type ort from 'onnxruntime-node';
import { BaheError, ErrorCode } from '../errors.js';
import type { BatchShape, BatchTensors } from './batch.js';
import { DATA_INPUTS, graphFeeds, type ParameterEntry, requireGraphIO } from './feeds.js';

export class AggregatorGraph {
  readonly #session: ort.InferenceSession;
  readonly #parameters: readonly ParameterEntry[];
  readonly #shape: BatchShape;

  constructor(session: ort.InferenceSession, parameters: readonly ParameterEntry[], shape: BatchShape) {
    requireGraphIO(session, 'aggregator', [...parameters.map((p) => p.name), ...DATA_INPUTS], ['logit']);
    this.#session = session;
    this.#parameters = parameters;
    this.#shape = shape;
  }

  /**
   * Logits of every row of `batch` (padding rows included) under `parameters`. The graph's batch is
   * dynamic: `rows` scores a batch laid out for that many rows instead of the shape's.
   */
  async score(
    parameters: ReadonlyMap<string, Float32Array>,
    batch: BatchTensors,
    rows = this.#shape.rows,
  ): Promise<Float32Array> {
    const feeds = graphFeeds({ ...this.#shape, rows }, this.#parameters, parameters, batch, false);
    try {
      const outputs = await this.#session.run(feeds);
      return outputs.logit?.data as Float32Array;
    } catch (cause) {
      throw new BaheError(ErrorCode.MODEL_RUN_FAILED, 'the aggregator graph failed to run; see the cause', {
        cause,
      });
    }
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
