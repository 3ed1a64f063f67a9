/** The inputs of the aggregator and train-step graphs, built once for both. */
import ort from 'onnxruntime-node';
import { BaheError, ErrorCode } from '../errors.js';
import type { BatchShape, BatchTensors } from './batch.js';

export interface ParameterEntry {
  name: string;
  shape: readonly number[];
}

/**
 * Named tensors over `batch` and `parameters` (no copies). `withLabels` adds `label` and `weight`,
 * which only the train step takes.
 */
export function graphFeeds(
  shape: BatchShape,
  entries: readonly ParameterEntry[],
  parameters: ReadonlyMap<string, Float32Array>,
  batch: BatchTensors,
  withLabels: boolean,
): Record<string, ort.Tensor> {
  const { rows, behaviorTypes, maxHistoryPerType, hiddenSize, sideFeatureCount } = shape;
  const types = behaviorTypes.length;
  const feeds: Record<string, ort.Tensor> = {
    history: new ort.Tensor('float32', batch.history, [rows, types, maxHistoryPerType, hiddenSize]),
    history_mask: new ort.Tensor('float32', batch.historyMask, [rows, types, maxHistoryPerType]),
    item: new ort.Tensor('float32', batch.item, [rows, hiddenSize]),
    side: new ort.Tensor('float32', batch.side, [rows, sideFeatureCount]),
  };
  if (withLabels) {
    feeds.label = new ort.Tensor('float32', batch.label, [rows]);
    feeds.weight = new ort.Tensor('float32', batch.weight, [rows]);
  }
  for (const { name, shape: dims } of entries) {
    const value = parameters.get(name);
    if (value === undefined) throw new RangeError(`no value for parameter ${name}`);
    feeds[name] = new ort.Tensor('float32', value, [...dims]);
  }
  return feeds;
}

/** Names of the inputs a graph must have besides the parameters. */
export const DATA_INPUTS = ['history', 'history_mask', 'item', 'side'] as const;
export const LABEL_INPUTS = ['label', 'weight'] as const;

/** Fails with BAHE_MODEL_INVALID unless `session` has every input and output the service feeds and reads. */
export function requireGraphIO(
  session: ort.InferenceSession,
  graph: string,
  inputs: readonly string[],
  outputs: readonly string[],
): void {
  const present = new Set([...session.inputNames, ...session.outputNames]);
  const missing = [...inputs, ...outputs].filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `the ${graph} graph lacks ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}; ` +
        're-run the model compiler for this manifest',
    );
  }
}
