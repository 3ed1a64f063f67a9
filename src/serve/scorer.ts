/**
 * Scores candidate items for a user history with the served model version: the same forward pass
 * as the trainer's test-then-train scores (the compiled aggregator graph, which the train step
 * contains), over vectors from the store; behaviors the store lacks are encoded on the fly.
 */
import { BehaviorIdentityCache } from '../behavior/identity-cache.js';
import { BaheError, ErrorCode, isBaheError } from '../errors.js';
import type { BehaviorRef, BehaviorVectors } from '../pipeline/behavior-vectors.js';
import { ITEM_BEHAVIOR_TYPE } from '../pipeline/impressions.js';
import type { AggregatorGraph } from '../trainer/aggregator.js';
import { allocateBatch, type BatchShape, fillBatch, type TrainingImpression } from '../trainer/batch.js';
import type { ModelVersions, ServedVersion } from './model-versions.js';
import { invalidRequest, type PredictRequest } from './request.js';

export interface Prediction {
  itemId: string | undefined;
  /** Click probability: the sigmoid of the logit. */
  probability: number;
  logit: number;
}

export interface PredictResult {
  modelVersion: string;
  step: number;
  predictions: Prediction[];
}

export interface ScorerDeps {
  aggregator: AggregatorGraph;
  /** The model's batch shape; `rows` is replaced by each request's candidate count. */
  shape: BatchShape;
  vectors: BehaviorVectors;
  versions: ModelVersions;
}

export class Scorer {
  readonly #deps: ScorerDeps;
  readonly #identities = new BehaviorIdentityCache();

  constructor(deps: ScorerDeps) {
    this.#deps = deps;
  }

  async predict(request: PredictRequest): Promise<PredictResult> {
    // Taken once: a reload during this request does not change the version it is scored with.
    const served = this.#deps.versions.current;
    if (served === undefined) {
      throw new BaheError(
        ErrorCode.MODEL_UNAVAILABLE,
        'no model version is loaded yet; the scorer loads one when the trainer publishes a checkpoint',
        { retryable: true, context: { status: 503 } },
      );
    }

    const nowMs = Date.now();
    // Every text is checked, but only those the model reads (the latest of each type) are encoded
    // and stored: older ones would cost encoder time and store space for nothing.
    const history = latestPerType(
      request.history.map(({ type, text, field }) => this.#identify(type, text, field, nowMs)),
      this.#deps.shape.maxHistoryPerType,
    );
    const items = request.candidates.map((c, index) =>
      this.#identify(ITEM_BEHAVIOR_TYPE, c.text, `candidates[${index}].text`, nowMs),
    );
    const refs = [...history, ...items];
    await this.#deps.vectors.ensure(refs);
    const lookup = await this.#deps.vectors.vectors(refs.map((ref) => ref.id));

    const logits = await this.#score(served, request, history, items, lookup);
    const predictions = request.candidates.map((candidate, row) => {
      const logit = logits[row] as number;
      return { itemId: candidate.itemId, probability: 1 / (1 + Math.exp(-logit)), logit };
    });
    return { modelVersion: served.version, step: served.step, predictions };
  }

  async #score(
    served: ServedVersion,
    request: PredictRequest,
    history: BehaviorRef[],
    items: BehaviorRef[],
    lookup: Map<string, Float32Array>,
  ): Promise<Float32Array> {
    const shape: BatchShape = { ...this.#deps.shape, rows: items.length };
    const batch = allocateBatch(shape);
    const userHistory = history.map((ref) => ({ type: ref.type, behaviorId: ref.id }));
    const impressions: TrainingImpression[] = items.map((item, row) => ({
      userId: request.userId ?? '',
      itemId: request.candidates[row]?.itemId ?? '',
      itemBehaviorId: item.id,
      history: userHistory,
      label: 0,
    }));
    fillBatch(
      shape,
      batch,
      impressions,
      (id) => lookup.get(id) as Float32Array,
      (row, out, offset) => {
        const impression = impressions[row] as TrainingImpression;
        served.features.write(impression.userId, impression.itemId, out, offset);
      },
    );
    return this.#deps.aggregator.score(served.parameters, batch, shape.rows);
  }

  #identify(type: string, text: string, field: string, seenMs: number): BehaviorRef {
    try {
      return { ...this.#identities.identify(type, text), seenMs };
    } catch (error) {
      if (isBaheError(error, ErrorCode.BEHAVIOR_TEXT_INVALID))
        throw invalidRequest(field, `${field}: ${error.message}`);
      throw error;
    }
  }
}

/** The last `depth` references of each behavior type, in their original (oldest first) order. */
export function latestPerType(history: readonly BehaviorRef[], depth: number): BehaviorRef[] {
  const kept: BehaviorRef[] = [];
  const counts = new Map<string, number>();
  for (let index = history.length - 1; index >= 0; index -= 1) {
    const ref = history[index] as BehaviorRef;
    const count = counts.get(ref.type) ?? 0;
    if (count >= depth) continue;
    counts.set(ref.type, count + 1);
    kept.push(ref);
  }
  return kept.reverse();
}
