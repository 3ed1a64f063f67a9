/**
 * The embedding store contract. Every store (the embedded on-disk one, Qdrant) implements it and is
 * held to the same conformance tests in `test/store/conformance.ts`.
 */

/** One atomic behavior and its vector from the encoder the store is bound to. */
export interface BehaviorRecord {
  /** Behavior id: a UUID derived from the behavior type and its normalised text. */
  id: string;
  type: string;
  text: string;
  vector: Float32Array;
  firstSeenMs: number;
  lastSeenMs: number;
  /** How many times the behavior has been observed; approximate under at-least-once delivery. */
  count: number;
}

/** A sighting of an already stored behavior: moves `lastSeenMs` forward and adds to `count`. */
export interface BehaviorObservation {
  id: string;
  seenMs: number;
  /** Sightings this observation stands for; 1 when absent. */
  count?: number;
}

export interface NearestFilter {
  /** Only records of this behavior type. */
  type?: string;
}

export interface ScoredRecord {
  record: BehaviorRecord;
  /** Cosine similarity to the query, in [-1, 1]. */
  score: number;
}

/** Where a store lives and which vectors it holds; a store serves one encoder version only. */
export interface StoreBinding {
  encoderVersion: string;
  dimension: number;
}

/**
 * A persistent map from behavior id to behavior record, bound to one encoder version and dimension.
 * Opening storage that holds another dimension fails with `BAHE_STORE_MISMATCH`.
 */
export interface BehaviorStore {
  readonly encoderVersion: string;
  readonly dimension: number;

  /** Opens (creating when absent) the storage; every other call needs an open store. */
  open(): Promise<void>;
  /** Finishes pending writes and releases files, locks and connections. Safe to call twice. */
  close(): Promise<void>;

  /**
   * Inserts or replaces records by id; durable when the promise resolves. Writing the same record
   * again leaves the same state, so redelivered events are harmless.
   */
  upsert(records: readonly BehaviorRecord[]): Promise<void>;
  /** The stored records among `ids`, vectors included; absent ids are left out of the map. */
  get(ids: readonly string[]): Promise<Map<string, BehaviorRecord>>;
  /** The ids among `ids` that are not stored, first occurrence order, without repeats. */
  missing(ids: readonly string[]): Promise<string[]>;
  /** Records sightings of stored behaviors without a vector; returns how many ids were stored. */
  touch(observations: readonly BehaviorObservation[]): Promise<number>;
  count(): Promise<number>;
  /** Every record, in batches of at most `batchSize`, for backfills into another store. */
  scan(batchSize: number): AsyncIterable<BehaviorRecord[]>;
  /** Removes records last seen before the epoch time `olderThanMs`; returns how many were removed. */
  prune(olderThanMs: number): Promise<number>;
  /** The `k` records most similar to `vector` by cosine, best first, optionally of one type. */
  nearest(vector: Float32Array, k: number, filter?: NearestFilter): Promise<ScoredRecord[]>;
}
