/**
 * The behavior store in a Qdrant collection: one collection per encoder version, Cosine distance,
 * payload (type, text, first and last seen, count, norm) with indexes on `type` and `last_seen_ms`.
 * Writes use `wait=true`, so a resolved upsert is durable; requests are cut to stay under the server's
 * size limit, run at most N at a time, and transient failures are retried (see QdrantConnection).
 */
import type { QdrantClient } from '@qdrant/js-client-rest';
import { BaheError, ErrorCode } from '../errors.js';
import { childLogger, type Logger, silentLogger } from '../log.js';
import { QdrantConnection } from './qdrant-connection.js';
import {
  type CheckedQdrantStoreOptions,
  checkStoreOptions,
  type QdrantStoreOptions,
} from './qdrant-options.js';
import {
  type BehaviorPoint,
  chunkByCount,
  chunkByJsonBytes,
  PAYLOAD_KEYS,
  pointOf,
  recordOf,
  type Sightings,
  type StoredPoint,
  sightingsOf,
} from './qdrant-points.js';
import type {
  BehaviorObservation,
  BehaviorRecord,
  BehaviorStore,
  NearestFilter,
  ScoredRecord,
} from './types.js';
import {
  checkCutoff,
  checkObservation,
  checkPositiveInteger,
  checkQueryVector,
  checkRecord,
  isBehaviorId,
} from './validate.js';

export { QDRANT_DEFAULTS, type QdrantStoreOptions } from './qdrant-options.js';

/** JSON around the points of an upsert or batch request; generous, so a chunk never overshoots. */
const ENVELOPE_BYTES = 1024;
/** Ids per request when only presence or payload is read (no vectors in the answer). */
const IDS_PER_LOOKUP = 1000;

/** Creates the collection of one encoder version, with the payload indexes the store filters on. */
export async function createBehaviorCollection(
  connection: QdrantConnection,
  collection: string,
  dimension: number,
): Promise<void> {
  const created = await connection
    .call('create collection', collection, (client) =>
      client.createCollection(collection, {
        vectors: { size: dimension, distance: 'Cosine' },
        on_disk_payload: true,
      }),
    )
    .catch((error: unknown) => {
      // Another process created it first: the caller checks its configuration like any existing one.
      const { context, message } = error as BaheError;
      if (context?.status === 409 || /already exists/i.test(message)) return false;
      throw error;
    });
  if (created === false) return;
  for (const [field, schema] of [
    [PAYLOAD_KEYS.type, 'keyword'],
    [PAYLOAD_KEYS.lastSeenMs, 'float'],
  ] as const) {
    await connection.call('create payload index', collection, (client) =>
      client.createPayloadIndex(collection, { field_name: field, field_schema: schema, wait: true }),
    );
  }
}

/** The vector size and distance of a collection, or a mismatch error when it is not a single Cosine vector. */
export async function collectionDimension(connection: QdrantConnection, collection: string): Promise<number> {
  const info = await connection.call('get collection', collection, (client) =>
    client.getCollection(collection),
  );
  const vectors = info.config.params.vectors as { size?: unknown; distance?: unknown } | undefined;
  if (typeof vectors?.size !== 'number' || vectors.distance !== 'Cosine') {
    throw new BaheError(
      ErrorCode.STORE_MISMATCH,
      `collection ${collection} does not hold one unnamed Cosine vector per point, so it was not made by ` +
        'bahe-stream; choose another --qdrant-collection-prefix',
      { context: { collection } },
    );
  }
  return vectors.size;
}

export class QdrantStore implements BehaviorStore {
  readonly encoderVersion: string;
  readonly dimension: number;
  readonly collection: string;
  readonly #options: CheckedQdrantStoreOptions;
  readonly #logger: Logger;
  readonly #connection: QdrantConnection;
  #isOpen = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: QdrantStoreOptions) {
    this.#options = checkStoreOptions(options);
    this.encoderVersion = options.encoderVersion;
    this.dimension = options.dimension;
    this.collection = options.collection;
    this.#logger = childLogger(options.logger ?? silentLogger(), {
      store: 'qdrant',
      encoderVersion: this.encoderVersion,
      collection: this.collection,
    });
    this.#connection = new QdrantConnection({ ...options, logger: this.#logger });
  }

  async open(): Promise<void> {
    if (this.#isOpen) throw this.#error('store is already open; close it before opening it again');
    const { collection } = this;
    const exists = await this.#call('collection exists', (client) => client.collectionExists(collection));
    if (!exists.exists) {
      if (this.#options.readOnly) {
        throw this.#error(
          `collection ${collection} does not exist on ${this.#connection.url}; open it for writing once to ` +
            'create it, or check --qdrant-collection-prefix',
        );
      }
      await createBehaviorCollection(this.#connection, collection, this.dimension);
      this.#logger.info({ dimension: this.dimension }, 'collection created');
    }

    const stored = await collectionDimension(this.#connection, collection);
    if (stored !== this.dimension) {
      throw new BaheError(
        ErrorCode.STORE_MISMATCH,
        `collection ${collection} holds ${stored}-value vectors, but ${this.dimension}-value vectors of ` +
          `encoder version ${this.encoderVersion} were asked for; check that the model matches the store (a ` +
          'new encoder is backfilled into a new collection, never mixed into an old one)',
        { context: { collection, storedDimension: stored, dimension: this.dimension } },
      );
    }
    this.#isOpen = true;
    this.#logger.info({ url: this.#connection.url, readOnly: this.#options.readOnly }, 'store opened');
  }

  async close(): Promise<void> {
    if (!this.#isOpen) return;
    this.#isOpen = false;
    await Promise.allSettled([...this.#inFlight]);
    this.#logger.info('store closed');
  }

  upsert(records: readonly BehaviorRecord[]): Promise<void> {
    return this.#track(async () => {
      this.#requireWritable();
      for (const record of records) checkRecord(record, this);
      const chunks = chunkByJsonBytes(records.map(pointOf), this.#limits(this.#options.upsertBatchSize));
      await Promise.all(chunks.map((points) => this.#upsertPoints(points)));
    });
  }

  get(ids: readonly string[]): Promise<Map<string, BehaviorRecord>> {
    return this.#track(async () => {
      this.#requireOpen();
      const points = await this.#retrieve(ids, true, this.#options.retrieveBatchSize);
      const found = new Map<string, BehaviorRecord>();
      for (const point of points)
        found.set(String(point.id), recordOf(point, this.dimension, this.collection));
      return found;
    });
  }

  missing(ids: readonly string[]): Promise<string[]> {
    return this.#track(async () => {
      this.#requireOpen();
      const unique = [...new Set(ids)];
      const stored = new Set((await this.#retrieve(unique, false, IDS_PER_LOOKUP)).map((p) => String(p.id)));
      return unique.filter((id) => !stored.has(id));
    });
  }

  /**
   * Reads the sighting fields, adds the observations and writes them back in batches. Two processes
   * touching one behavior at the same moment can lose one of the updates: counts are approximate
   * (as under at-least-once delivery anyway), vectors are never affected.
   */
  touch(observations: readonly BehaviorObservation[]): Promise<number> {
    return this.#track(async () => {
      this.#requireWritable();
      for (const observation of observations) checkObservation(observation);
      const ids = [...new Set(observations.map((o) => o.id))];
      const current = new Map<string, Sightings>();
      for (const point of await this.#retrieve(ids, 'sightings', IDS_PER_LOOKUP)) {
        current.set(String(point.id), sightingsOf(point, this.collection));
      }

      for (const { id, seenMs, count = 1 } of observations) {
        const before = current.get(id);
        if (before === undefined) continue;
        current.set(id, {
          firstSeenMs: Math.min(before.firstSeenMs, seenMs),
          lastSeenMs: Math.max(before.lastSeenMs, seenMs),
          count: before.count + count,
        });
      }
      const operations = [...current].map(([id, s]) => ({
        set_payload: {
          points: [id],
          payload: {
            [PAYLOAD_KEYS.firstSeenMs]: s.firstSeenMs,
            [PAYLOAD_KEYS.lastSeenMs]: s.lastSeenMs,
            [PAYLOAD_KEYS.count]: s.count,
          },
        },
      }));
      const chunks = chunkByJsonBytes(operations, this.#limits(IDS_PER_LOOKUP));
      await Promise.all(
        chunks.map((chunk) =>
          this.#call('update sightings', (client) =>
            client.batchUpdate(this.collection, { operations: chunk, wait: true }),
          ),
        ),
      );
      return current.size;
    });
  }

  count(): Promise<number> {
    return this.#track(async () => {
      this.#requireOpen();
      const result = await this.#call('count', (client) => client.count(this.collection, { exact: true }));
      return result.count;
    });
  }

  /** Pages through the collection in id order; points written during the scan may or may not appear. */
  async *scan(batchSize: number): AsyncGenerator<BehaviorRecord[]> {
    checkPositiveInteger(batchSize, 'batchSize');
    this.#requireOpen();
    let offset: string | number | undefined;
    do {
      const page = await this.#track(() =>
        this.#call('scroll', (client) =>
          client.scroll(this.collection, {
            limit: batchSize,
            with_payload: true,
            with_vector: true,
            ...(offset === undefined ? {} : { offset }),
          }),
        ),
      );
      const records = page.points.map((point) =>
        recordOf(point as StoredPoint, this.dimension, this.collection),
      );
      if (records.length > 0) yield records;
      const next = page.next_page_offset;
      offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
    } while (offset !== undefined);
  }

  /**
   * Counts, then deletes by the same filter, so a behavior seen again in between is kept; the count
   * returned can then be higher than what was removed.
   */
  prune(olderThanMs: number): Promise<number> {
    return this.#track(async () => {
      this.#requireWritable();
      checkCutoff(olderThanMs);
      const filter = { must: [{ key: PAYLOAD_KEYS.lastSeenMs, range: { lt: olderThanMs } }] };
      const { count } = await this.#call('count', (client) =>
        client.count(this.collection, { filter, exact: true }),
      );
      if (count > 0) {
        await this.#call('delete', (client) => client.delete(this.collection, { filter, wait: true }));
      }
      this.#logger.info({ removed: count, olderThanMs }, 'store pruned');
      return count;
    });
  }

  nearest(vector: Float32Array, k: number, filter: NearestFilter = {}): Promise<ScoredRecord[]> {
    return this.#track(async () => {
      this.#requireOpen();
      checkPositiveInteger(k, 'k');
      checkQueryVector(vector, this, { collection: this.collection });

      const result = await this.#call('query', (client) =>
        client.query(this.collection, {
          query: Array.from(vector),
          limit: k,
          with_payload: true,
          with_vector: true,
          ...(filter.type === undefined
            ? {}
            : { filter: { must: [{ key: PAYLOAD_KEYS.type, match: { value: filter.type } }] } }),
        }),
      );
      return result.points.map((point) => ({
        record: recordOf(point as StoredPoint, this.dimension, this.collection),
        score: point.score,
      }));
    });
  }

  async #upsertPoints(points: BehaviorPoint[]): Promise<void> {
    await this.#call('upsert', (client) => client.upsert(this.collection, { points, wait: true }));
  }

  /**
   * Points among `ids` that exist, read in concurrent chunks; ids that are not behavior ids cannot be
   * stored and are left out rather than sent (Qdrant refuses them).
   */
  async #retrieve(
    ids: readonly string[],
    read: boolean | 'sightings',
    perRequest: number,
  ): Promise<StoredPoint[]> {
    const valid = [...new Set(ids)].filter(isBehaviorId);
    const withPayload =
      read === 'sightings' ? [PAYLOAD_KEYS.firstSeenMs, PAYLOAD_KEYS.lastSeenMs, PAYLOAD_KEYS.count] : read;
    const pages = await Promise.all(
      chunkByCount(valid, perRequest).map((chunk) =>
        this.#call('retrieve', (client) =>
          client.retrieve(this.collection, {
            ids: chunk,
            with_payload: withPayload,
            with_vector: read === true,
          }),
        ),
      ),
    );
    return pages.flat() as StoredPoint[];
  }

  #call<T>(operation: string, request: (client: QdrantClient) => Promise<T>): Promise<T> {
    return this.#connection.call(operation, this.collection, request);
  }

  #limits(maxItems: number) {
    return { maxBytes: this.#options.maxRequestBytes, maxItems, envelopeBytes: ENVELOPE_BYTES };
  }

  /** Runs `task` as one store call that `close()` waits for. */
  #track<T>(task: () => Promise<T>): Promise<T> {
    const promise = task();
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  #requireOpen(): void {
    if (!this.#isOpen) throw this.#error('store is not open; call open() first');
  }

  #requireWritable(): void {
    this.#requireOpen();
    if (this.#options.readOnly)
      throw this.#error('store was opened read-only; open it without readOnly to write');
  }

  #error(message: string): BaheError {
    return new BaheError(ErrorCode.STORE_FAILED, message, { context: { collection: this.collection } });
  }
}
