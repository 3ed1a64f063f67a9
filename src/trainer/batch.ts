/**
 * Lays out a micro-batch of impressions as the dense tensors the aggregator and train-step graphs
 * take: one row per impression, histories per behavior type, oldest first, padded to the static size.
 */
import type { ModelManifest } from '../model/manifest.js';

/** An impression ready for training: behavior ids resolved, label known. */
export interface TrainingImpression {
  userId: string;
  itemId: string;
  /** Behavior id of the candidate item's text. */
  itemBehaviorId: string;
  /** Earlier behaviors, oldest first. */
  history: ReadonlyArray<{ type: string; behaviorId: string }>;
  label: 0 | 1;
}

export interface BatchShape {
  /** Rows in the batch (the train-step graph's static batch). */
  rows: number;
  behaviorTypes: readonly string[];
  maxHistoryPerType: number;
  hiddenSize: number;
  sideFeatureCount: number;
}

/** The batch shape a compiled model's train step was built for. */
export function batchShapeOf(manifest: ModelManifest): BatchShape {
  return {
    rows: manifest.trainBatchSize,
    behaviorTypes: manifest.behaviorTypes,
    maxHistoryPerType: manifest.maxHistoryPerType,
    hiddenSize: manifest.hiddenSize,
    sideFeatureCount: manifest.sideFeatures.length,
  };
}

export interface BatchTensors {
  history: Float32Array;
  historyMask: Float32Array;
  item: Float32Array;
  side: Float32Array;
  label: Float32Array;
  weight: Float32Array;
}

export function allocateBatch(shape: BatchShape): BatchTensors {
  const { rows, behaviorTypes, maxHistoryPerType, hiddenSize, sideFeatureCount } = shape;
  const slots = rows * behaviorTypes.length * maxHistoryPerType;
  return {
    history: new Float32Array(slots * hiddenSize),
    historyMask: new Float32Array(slots),
    item: new Float32Array(rows * hiddenSize),
    side: new Float32Array(rows * sideFeatureCount),
    label: new Float32Array(rows),
    weight: new Float32Array(rows),
  };
}

/**
 * Fills `tensors` with `impressions` (at most `shape.rows`); rows past the impressions get weight 0.
 * `vector(id)` must return the stored vector of every behavior id the impressions name.
 * `writeSide(row, out, offset)` writes a row's side features. Behaviors of a type the model was not
 * compiled for are left out and counted in the result.
 */
export function fillBatch(
  shape: BatchShape,
  tensors: BatchTensors,
  impressions: readonly TrainingImpression[],
  vector: (behaviorId: string) => Float32Array,
  writeSide: (row: number, out: Float32Array, offset: number) => void,
): { unknownTypeBehaviors: number } {
  const { rows, behaviorTypes, maxHistoryPerType: depth, hiddenSize: h, sideFeatureCount } = shape;
  if (impressions.length > rows) {
    throw new RangeError(`a micro-batch holds at most ${rows} impressions, got ${impressions.length}`);
  }
  tensors.history.fill(0);
  tensors.historyMask.fill(0);
  tensors.item.fill(0);
  tensors.side.fill(0);
  tensors.label.fill(0);
  tensors.weight.fill(0);

  const typeIndex = new Map(behaviorTypes.map((type, index) => [type, index]));
  let unknownTypeBehaviors = 0;

  impressions.forEach((impression, row) => {
    const perType: string[][] = behaviorTypes.map(() => []);
    for (const behavior of impression.history) {
      const index = typeIndex.get(behavior.type);
      if (index === undefined) unknownTypeBehaviors += 1;
      else perType[index]?.push(behavior.behaviorId);
    }

    perType.forEach((ids, t) => {
      const recent = ids.length > depth ? ids.slice(ids.length - depth) : ids;
      const slotBase = (row * behaviorTypes.length + t) * depth;
      recent.forEach((id, position) => {
        tensors.history.set(vector(id), (slotBase + position) * h);
        tensors.historyMask[slotBase + position] = 1;
      });
    });

    tensors.item.set(vector(impression.itemBehaviorId), row * h);
    writeSide(row, tensors.side, row * sideFeatureCount);
    tensors.label[row] = impression.label;
    tensors.weight[row] = 1;
  });
  return { unknownTypeBehaviors };
}
