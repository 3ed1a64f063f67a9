/**
 * How a behavior record is laid out as a Qdrant point, and how writes are cut into requests that stay
 * under the server's size limit.
 *
 * Qdrant normalises vectors of a Cosine collection on the way in and hands back the unit vectors, while
 * the trainer needs the encoder's vectors as they were. So the point holds the unit vector (what the
 * search ranks) and the payload holds the original length, `norm`; reading multiplies it back, which
 * restores the vector up to float32 rounding.
 */
import { BaheError, ErrorCode } from '../errors.js';
import { norm } from './top-k.js';
import type { BehaviorRecord } from './types.js';

/** Payload keys of a behavior point; `type` and `last_seen_ms` carry payload indexes. */
export const PAYLOAD_KEYS = {
  type: 'type',
  text: 'text',
  firstSeenMs: 'first_seen_ms',
  lastSeenMs: 'last_seen_ms',
  count: 'count',
  norm: 'norm',
} as const;

export interface BehaviorPoint {
  id: string;
  vector: number[];
  payload: Record<string, unknown>;
}

/** A point as Qdrant returns it (retrieve, scroll, query), vector and payload when asked for. */
export interface StoredPoint {
  id: string | number;
  vector?: unknown;
  payload?: Record<string, unknown> | null;
}

export function pointOf(record: BehaviorRecord): BehaviorPoint {
  const length = norm(record.vector);
  return {
    id: record.id,
    vector: Array.from(record.vector, (value) => (length === 0 ? 0 : value / length)),
    payload: {
      [PAYLOAD_KEYS.type]: record.type,
      [PAYLOAD_KEYS.text]: record.text,
      [PAYLOAD_KEYS.firstSeenMs]: record.firstSeenMs,
      [PAYLOAD_KEYS.lastSeenMs]: record.lastSeenMs,
      [PAYLOAD_KEYS.count]: record.count,
      [PAYLOAD_KEYS.norm]: length,
    },
  };
}

/** The sighting fields of a stored point, read without its vector. */
export interface Sightings {
  firstSeenMs: number;
  lastSeenMs: number;
  count: number;
}

export function sightingsOf(point: StoredPoint, collection: string): Sightings {
  const payload = point.payload ?? {};
  const firstSeenMs = payload[PAYLOAD_KEYS.firstSeenMs];
  const lastSeenMs = payload[PAYLOAD_KEYS.lastSeenMs];
  const count = payload[PAYLOAD_KEYS.count];
  if (typeof firstSeenMs !== 'number' || typeof lastSeenMs !== 'number' || typeof count !== 'number') {
    throw foreignPoint(point, collection);
  }
  return { firstSeenMs, lastSeenMs, count };
}

/** The behavior record of a point read with its payload and vector. */
export function recordOf(point: StoredPoint, dimension: number, collection: string): BehaviorRecord {
  const payload = point.payload ?? {};
  const type = payload[PAYLOAD_KEYS.type];
  const text = payload[PAYLOAD_KEYS.text];
  const length = payload[PAYLOAD_KEYS.norm];
  if (typeof type !== 'string' || typeof text !== 'string' || typeof length !== 'number') {
    throw foreignPoint(point, collection);
  }
  const unit = point.vector;
  if (!Array.isArray(unit) || unit.length !== dimension) {
    throw new BaheError(
      ErrorCode.STORE_MISMATCH,
      `point ${String(point.id)} of collection ${collection} has no ${dimension}-value vector; the ` +
        'collection does not match this encoder version',
      { context: { collection, behaviorId: String(point.id) } },
    );
  }
  const vector = new Float32Array(dimension);
  for (let i = 0; i < dimension; i += 1) vector[i] = (unit[i] as number) * length;
  return { id: String(point.id), type, text, vector, ...sightingsOf(point, collection) };
}

function foreignPoint(point: StoredPoint, collection: string): BaheError {
  return new BaheError(
    ErrorCode.STORE_MISMATCH,
    `point ${String(point.id)} of collection ${collection} lacks the behavior payload (type, text, ` +
      'first_seen_ms, last_seen_ms, count, norm); the collection was not written by bahe-stream: choose ' +
      'another --qdrant-collection-prefix',
    { context: { collection, behaviorId: String(point.id) } },
  );
}

export interface ChunkLimits {
  /** Bytes of one request body at most, the envelope included. */
  maxBytes: number;
  /** Items per request at most. */
  maxItems: number;
  /** Bytes of the request around the items (`{"points":[...]}` and the like). */
  envelopeBytes: number;
}

/**
 * Cuts `items` into consecutive chunks whose JSON (items joined by commas, plus the envelope) fits
 * `maxBytes` and that hold at most `maxItems`. An item that alone exceeds the limit is refused.
 */
export function chunkByJsonBytes<T>(items: readonly T[], limits: ChunkLimits): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = limits.envelopeBytes;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (limits.envelopeBytes + size > limits.maxBytes) {
      throw new BaheError(
        ErrorCode.STORE_FAILED,
        `one point needs ${size} bytes of JSON, more than the request limit of ${limits.maxBytes} bytes; ` +
          'raise --qdrant-max-request-bytes (the server refuses requests over 32 MiB) or shorten the text',
        { context: { field: 'qdrantMaxRequestBytes' } },
      );
    }
    if (current.length > 0 && (bytes + size > limits.maxBytes || current.length >= limits.maxItems)) {
      chunks.push(current);
      current = [];
      bytes = limits.envelopeBytes;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Consecutive slices of at most `size` items. */
export function chunkByCount<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
