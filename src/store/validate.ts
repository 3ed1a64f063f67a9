import { BaheError, ErrorCode } from '../errors.js';
import type { BehaviorObservation, BehaviorRecord, StoreBinding } from './types.js';

/** Canonical lower-case UUID text; Qdrant rewrites other spellings, so only this one is accepted. */
const BEHAVIOR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The encoder version names a folder or collection, so it is limited to a safe alphabet. */
const ENCODER_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const MAX_DIMENSION = 65_536;

export function isBehaviorId(id: string): boolean {
  return BEHAVIOR_ID.test(id);
}

/** Checks the encoder version and dimension a store is bound to; fails with `BAHE_CONFIG_INVALID`. */
export function checkBinding(binding: StoreBinding): void {
  if (typeof binding.encoderVersion !== 'string' || !ENCODER_VERSION.test(binding.encoderVersion)) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `store encoderVersion must be 1 to 128 characters of letters, digits, '.', '_' or '-', starting ` +
        `with a letter or digit; got ${JSON.stringify(binding.encoderVersion)}`,
      { context: { field: 'encoderVersion' } },
    );
  }
  const { dimension } = binding;
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `store dimension must be an integer in [1, ${MAX_DIMENSION}]; got ${dimension}`,
      { context: { field: 'dimension' } },
    );
  }
}

/** Refuses a record a store must not hold: bad id, wrong vector length, non-finite numbers. */
export function checkRecord(record: BehaviorRecord, binding: StoreBinding): void {
  const fail = (what: string): never => {
    throw new BaheError(ErrorCode.STORE_FAILED, `behavior record refused: ${what}`, {
      context: { behaviorId: String(record.id) },
    });
  };
  if (typeof record.id !== 'string' || !isBehaviorId(record.id)) {
    fail('id must be a lower-case UUID derived from the behavior type and text');
  }
  if (typeof record.type !== 'string' || record.type.length === 0) fail('type must be a non-empty string');
  if (typeof record.text !== 'string') fail('text must be a string');
  if (!Number.isFinite(record.firstSeenMs) || !Number.isFinite(record.lastSeenMs)) {
    fail('firstSeenMs and lastSeenMs must be finite epoch milliseconds');
  }
  if (record.firstSeenMs > record.lastSeenMs) fail('firstSeenMs must not be after lastSeenMs');
  if (!Number.isSafeInteger(record.count) || record.count < 0) fail('count must be a non-negative integer');
  if (!(record.vector instanceof Float32Array)) fail('vector must be a Float32Array');

  if (record.vector.length !== binding.dimension) {
    throw new BaheError(
      ErrorCode.STORE_MISMATCH,
      `behavior vector has ${record.vector.length} values but the store for encoder version ` +
        `${binding.encoderVersion} holds ${binding.dimension}; encode with the store's encoder version`,
      { context: { behaviorId: record.id } },
    );
  }
  for (const value of record.vector) {
    if (!Number.isFinite(value)) fail('vector holds a non-finite value');
  }
}

export function checkObservation(observation: BehaviorObservation): void {
  const count = observation.count ?? 1;
  if (!Number.isFinite(observation.seenMs) || !Number.isSafeInteger(count) || count < 0) {
    throw new BaheError(
      ErrorCode.STORE_FAILED,
      'behavior observation refused: seenMs must be finite and count a non-negative integer',
      { context: { behaviorId: String(observation.id) } },
    );
  }
}

/** Checks `batchSize` for `scan` and `k` for `nearest`. */
export function checkPositiveInteger(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BaheError(ErrorCode.CONFIG_INVALID, `${field} must be a positive integer; got ${value}`, {
      context: { field },
    });
  }
}

/**
 * Checks a `nearest` query against the store's binding: its length, and a non-zero norm (cosine is
 * undefined for a zero vector). `where` names the folder or collection in the error's context.
 */
export function checkQueryVector(
  vector: Float32Array,
  binding: StoreBinding,
  where: { path?: string; collection?: string },
): void {
  if (vector.length !== binding.dimension) {
    throw new BaheError(
      ErrorCode.STORE_MISMATCH,
      `query vector has ${vector.length} values but the store holds ${binding.dimension}; encode the query ` +
        `with encoder version ${binding.encoderVersion}`,
      { context: where },
    );
  }
  if (vector.every((value) => value === 0)) {
    throw new BaheError(
      ErrorCode.STORE_FAILED,
      'query vector is all zeros, so cosine similarity is undefined',
      {
        context: where,
      },
    );
  }
}

/** Checks the cutoff of `prune`. */
export function checkCutoff(olderThanMs: number): void {
  if (!Number.isFinite(olderThanMs)) {
    throw new BaheError(ErrorCode.CONFIG_INVALID, `olderThanMs must be finite epoch ms; got ${olderThanMs}`, {
      context: { field: 'olderThanMs' },
    });
  }
}
