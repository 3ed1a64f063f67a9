/** Wrappers that time the store's calls and the encoder's batches into histograms, leaving behavior unchanged. */
import type { EncodeTexts } from '../pipeline/behavior-vectors.js';
import type {
  BehaviorObservation,
  BehaviorRecord,
  BehaviorStore,
  NearestFilter,
  ScoredRecord,
} from '../store/types.js';
import type { Histogram } from './metrics.js';

/** A store whose calls are observed in `latency` by `operation` label. */
export class TimedStore implements BehaviorStore {
  readonly #store: BehaviorStore;
  readonly #latency: Histogram;

  constructor(store: BehaviorStore, latency: Histogram) {
    this.#store = store;
    this.#latency = latency;
  }

  get encoderVersion(): string {
    return this.#store.encoderVersion;
  }

  get dimension(): number {
    return this.#store.dimension;
  }

  open(): Promise<void> {
    return this.#store.open();
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  upsert(records: readonly BehaviorRecord[]): Promise<void> {
    return this.#latency.time({ operation: 'upsert' }, () => this.#store.upsert(records));
  }

  get(ids: readonly string[]): Promise<Map<string, BehaviorRecord>> {
    return this.#latency.time({ operation: 'get' }, () => this.#store.get(ids));
  }

  missing(ids: readonly string[]): Promise<string[]> {
    return this.#latency.time({ operation: 'missing' }, () => this.#store.missing(ids));
  }

  touch(observations: readonly BehaviorObservation[]): Promise<number> {
    return this.#latency.time({ operation: 'touch' }, () => this.#store.touch(observations));
  }

  count(): Promise<number> {
    return this.#latency.time({ operation: 'count' }, () => this.#store.count());
  }

  scan(batchSize: number): AsyncIterable<BehaviorRecord[]> {
    return this.#store.scan(batchSize);
  }

  prune(olderThanMs: number): Promise<number> {
    return this.#latency.time({ operation: 'prune' }, () => this.#store.prune(olderThanMs));
  }

  nearest(vector: Float32Array, k: number, filter?: NearestFilter): Promise<ScoredRecord[]> {
    return this.#latency.time({ operation: 'nearest' }, () => this.#store.nearest(vector, k, filter));
  }
}

/** `encode`, with each call's text count observed in `batchSize` and its seconds in `latency`. */
export function timedEncode(encode: EncodeTexts, batchSize: Histogram, latency: Histogram): EncodeTexts {
  return (texts) => {
    batchSize.observe({}, texts.length);
    return latency.time({}, () => encode(texts));
  };
}
