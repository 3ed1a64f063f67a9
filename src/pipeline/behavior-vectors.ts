/**
 * The path from a behavior reference to its vector: the seen-set, the store lookup, and the encoder
 * for behaviors never stored before. Each behavior id is encoded at most once per store.
 */

import { setTimeout as delay } from 'node:timers/promises';
import { definedOnly } from '../config/options.js';
import { MicroBatcher } from '../encoder/batcher.js';
import type { BehaviorObservation, BehaviorRecord, BehaviorStore } from '../store/types.js';

/** One mention of an atomic behavior. */
export interface BehaviorRef {
  id: string;
  type: string;
  /** The behavior text as the encoder should see it. */
  text: string;
  seenMs: number;
}

export interface BehaviorVectorOptions {
  /** Texts per encoder call at most. */
  encoderBatchSize: number;
  /** How long a lone new behavior may wait for others to fill its batch. */
  encoderMaxWaitMs: number;
  /** Vectors kept in memory for the trainer's lookups; older ones are read from the store again. */
  cacheSize: number;
  /**
   * How long a behavior missing from the store may take to appear there, put by the encoder service
   * that owns it, before it is encoded here instead; 0 encodes at once.
   */
  storeWaitMs: number;
}

export const BEHAVIOR_VECTOR_DEFAULTS: BehaviorVectorOptions = {
  encoderBatchSize: 256,
  encoderMaxWaitMs: 20,
  cacheSize: 100_000,
  storeWaitMs: 0,
};

/** First and longest pause between two looks at the store while waiting for a behavior to appear. */
const STORE_POLL_MS = { first: 20, max: 500 };

export interface BehaviorVectorStats {
  /** Behavior references handled, repeats included. */
  occurrences: number;
  /** Distinct behavior ids handled. */
  unique: number;
  /** Distinct ids found already stored (no encoder call). */
  alreadyStored: number;
  /** Texts run through the encoder. */
  encoded: number;
  encoderBatches: number;
  /** Distinct ids that were missing at first and appeared in the store while waiting for them. */
  arrivedWhileWaiting: number;
  /** Time spent waiting for behaviors to appear in the store, in milliseconds. */
  storeWaitMs: number;
}

export type EncodeTexts = (texts: string[]) => Promise<Float32Array[]>;

export class BehaviorVectors {
  readonly #store: BehaviorStore;
  readonly #options: BehaviorVectorOptions;
  readonly #batcher: MicroBatcher<BehaviorRef, Float32Array>;
  /** Ids known to be stored. */
  readonly #known = new Set<string>();
  readonly #cache = new Map<string, Float32Array>();
  readonly #sightings = new Map<string, BehaviorObservation>();
  readonly #stats: BehaviorVectorStats = {
    occurrences: 0,
    unique: 0,
    alreadyStored: 0,
    encoded: 0,
    encoderBatches: 0,
    arrivedWhileWaiting: 0,
    storeWaitMs: 0,
  };

  constructor(store: BehaviorStore, encode: EncodeTexts, options: Partial<BehaviorVectorOptions> = {}) {
    this.#store = store;
    this.#options = { ...BEHAVIOR_VECTOR_DEFAULTS, ...definedOnly(options) };
    this.#batcher = new MicroBatcher<BehaviorRef, Float32Array>(
      (refs) => this.#encodeAndStore(refs, encode),
      {
        maxBatchSize: this.#options.encoderBatchSize,
        maxWaitMs: this.#options.encoderMaxWaitMs,
        keyOf: (ref) => ref.id,
      },
    );
  }

  get stats(): Readonly<BehaviorVectorStats> {
    return this.#stats;
  }

  /**
   * Resolves once every referenced behavior is stored; new ones are encoded and upserted first.
   * With `sighting`, the references also count as sightings (first/last seen, count) in the store.
   */
  async ensure(refs: readonly BehaviorRef[], sighting = false): Promise<void> {
    this.#stats.occurrences += refs.length;
    if (sighting) for (const ref of refs) this.#recordSighting(ref);

    const unknown = new Map<string, BehaviorRef>();
    for (const ref of refs) {
      if (!this.#known.has(ref.id) && !unknown.has(ref.id)) unknown.set(ref.id, ref);
    }
    if (unknown.size === 0) return;

    let missing = new Set(await this.#store.missing([...unknown.keys()]));
    if (missing.size > 0 && this.#options.storeWaitMs > 0) missing = await this.#waitForStore(missing);
    this.#stats.unique += unknown.size;
    this.#stats.alreadyStored += unknown.size - missing.size;
    for (const id of unknown.keys()) if (!missing.has(id)) this.#known.add(id);

    await Promise.all([...missing].map((id) => this.#batcher.submit(unknown.get(id) as BehaviorRef)));
  }

  /** The vectors of stored behaviors; throws if one is not stored (call `ensure` first). */
  async vectors(ids: Iterable<string>): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    const absent: string[] = [];
    for (const id of ids) {
      const vector = this.#cache.get(id);
      if (vector === undefined) absent.push(id);
      else found.set(id, vector);
    }
    if (absent.length > 0) {
      const records = await this.#store.get([...new Set(absent)]);
      for (const id of absent) {
        const record = records.get(id);
        if (record === undefined) throw new RangeError(`behavior ${id} is not stored; call ensure() first`);
        found.set(id, record.vector);
        this.#remember(id, record.vector);
      }
    }
    return found;
  }

  /** Writes the sightings gathered since the last flush to the store. */
  async flushSightings(): Promise<void> {
    if (this.#sightings.size === 0) return;
    const observations = [...this.#sightings.values()];
    this.#sightings.clear();
    await this.#store.touch(observations);
  }

  /** Waits for encoding in flight, writes pending sightings and stops accepting work. */
  async close(): Promise<void> {
    await this.#batcher.close();
    await this.flushSightings();
  }

  /** Looks at the store again, less and less often, until every id is there or the wait is over. */
  async #waitForStore(missing: Set<string>): Promise<Set<string>> {
    const started = performance.now();
    const deadline = started + this.#options.storeWaitMs;
    let pause = STORE_POLL_MS.first;
    let left = missing;
    while (left.size > 0) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      await delay(Math.min(pause, remaining));
      pause = Math.min(pause * 2, STORE_POLL_MS.max);
      left = new Set(await this.#store.missing([...left]));
    }
    this.#stats.arrivedWhileWaiting += missing.size - left.size;
    this.#stats.storeWaitMs += performance.now() - started;
    return left;
  }

  async #encodeAndStore(refs: BehaviorRef[], encode: EncodeTexts): Promise<Float32Array[]> {
    const vectors = await encode(refs.map((ref) => ref.text));
    const records: BehaviorRecord[] = refs.map((ref, index) => ({
      id: ref.id,
      type: ref.type,
      text: ref.text,
      vector: vectors[index] as Float32Array,
      firstSeenMs: ref.seenMs,
      lastSeenMs: ref.seenMs,
      count: 0,
    }));
    await this.#store.upsert(records);
    this.#stats.encoded += refs.length;
    this.#stats.encoderBatches += 1;
    refs.forEach((ref, index) => {
      this.#known.add(ref.id);
      this.#remember(ref.id, vectors[index] as Float32Array);
    });
    return vectors;
  }

  #recordSighting(ref: BehaviorRef): void {
    const seen = this.#sightings.get(ref.id);
    if (seen === undefined) this.#sightings.set(ref.id, { id: ref.id, seenMs: ref.seenMs, count: 1 });
    else {
      seen.count = (seen.count ?? 1) + 1;
      seen.seenMs = Math.max(seen.seenMs, ref.seenMs);
    }
  }

  #remember(id: string, vector: Float32Array): void {
    this.#cache.delete(id);
    this.#cache.set(id, vector);
    if (this.#cache.size > this.#options.cacheSize) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
  }
}
