import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { checkBinding } from './validate.js';

/** How to reach a Qdrant server and how hard to lean on it; shared by the store and the catalog. */
export interface QdrantConnectionOptions {
  /** `http://host:6333` or `https://...` (TLS, verified against the system's and NODE_EXTRA_CA_CERTS's authorities). */
  url: string;
  /** Sent as the `api-key` header; never logged. */
  apiKey?: string;
  /** Milliseconds one request may take before it is abandoned (and retried). */
  timeoutMs?: number;
  /** Requests in flight at once per client; more queue, since bursts from Node hit connect timeouts. */
  maxConcurrentRequests?: number;
  /** Retries of a transient failure (connection refused or reset, timeout, 429, 5xx). */
  retries?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  logger?: Logger;
}

export interface QdrantStoreOptions extends QdrantConnectionOptions {
  /** The collection of this encoder version (the alias is resolved before, by `openStore`). */
  collection: string;
  encoderVersion: string;
  dimension: number;
  /** Refuses writes and never creates the collection. */
  readOnly?: boolean;
  /** Bytes of one request body at most; Qdrant refuses bodies over 32 MiB. */
  maxRequestBytes?: number;
  /** Points per upsert request at most. */
  upsertBatchSize?: number;
  /** Ids per retrieve request at most (the answer carries their vectors). */
  retrieveBatchSize?: number;
}

export const QDRANT_DEFAULTS = {
  timeoutMs: 30_000,
  maxConcurrentRequests: 4,
  retries: 6,
  retryBaseDelayMs: 200,
  retryMaxDelayMs: 10_000,
  readOnly: false,
  maxRequestBytes: 8 * 1024 * 1024,
  upsertBatchSize: 256,
  retrieveBatchSize: 256,
};

/** Qdrant's limit on one request body (its `service.max_request_size_mb` default). */
export const QDRANT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

export type CheckedConnectionOptions = Required<Omit<QdrantConnectionOptions, 'logger' | 'apiKey'>> & {
  apiKey: string | undefined;
};

/** Merges the defaults under `options` and checks every field; fails with `BAHE_CONFIG_INVALID`. */
export function checkConnectionOptions(options: QdrantConnectionOptions): CheckedConnectionOptions {
  if (typeof options.url !== 'string' || !/^https?:\/\/[^/]/.test(options.url)) {
    throw invalid(
      'qdrantUrl',
      `Qdrant url must start with http:// or https://; got ${JSON.stringify(options.url)}`,
    );
  }
  const merged = {
    url: options.url.replace(/\/+$/, ''),
    apiKey: options.apiKey === '' ? undefined : options.apiKey,
    timeoutMs: options.timeoutMs ?? QDRANT_DEFAULTS.timeoutMs,
    maxConcurrentRequests: options.maxConcurrentRequests ?? QDRANT_DEFAULTS.maxConcurrentRequests,
    retries: options.retries ?? QDRANT_DEFAULTS.retries,
    retryBaseDelayMs: options.retryBaseDelayMs ?? QDRANT_DEFAULTS.retryBaseDelayMs,
    retryMaxDelayMs: options.retryMaxDelayMs ?? QDRANT_DEFAULTS.retryMaxDelayMs,
  };
  checkInteger('timeoutMs', merged.timeoutMs, 1, 3_600_000);
  checkInteger('maxConcurrentRequests', merged.maxConcurrentRequests, 1, 256);
  checkInteger('retries', merged.retries, 0, 100);
  checkInteger('retryBaseDelayMs', merged.retryBaseDelayMs, 0, 600_000);
  checkInteger('retryMaxDelayMs', merged.retryMaxDelayMs, merged.retryBaseDelayMs, 600_000);
  return merged;
}

export type CheckedQdrantStoreOptions = CheckedConnectionOptions &
  Required<Omit<QdrantStoreOptions, keyof QdrantConnectionOptions>>;

export function checkStoreOptions(options: QdrantStoreOptions): CheckedQdrantStoreOptions {
  checkBinding(options);
  if (
    typeof options.collection !== 'string' ||
    !/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(options.collection)
  ) {
    throw invalid(
      'collection',
      `Qdrant collection name must be 1 to 255 letters, digits, '.', '_' or '-'; got ${JSON.stringify(options.collection)}`,
    );
  }
  const merged = {
    ...checkConnectionOptions(options),
    collection: options.collection,
    encoderVersion: options.encoderVersion,
    dimension: options.dimension,
    readOnly: options.readOnly ?? QDRANT_DEFAULTS.readOnly,
    maxRequestBytes: options.maxRequestBytes ?? QDRANT_DEFAULTS.maxRequestBytes,
    upsertBatchSize: options.upsertBatchSize ?? QDRANT_DEFAULTS.upsertBatchSize,
    retrieveBatchSize: options.retrieveBatchSize ?? QDRANT_DEFAULTS.retrieveBatchSize,
  };
  checkInteger('maxRequestBytes', merged.maxRequestBytes, 64 * 1024, QDRANT_MAX_REQUEST_BYTES);
  checkInteger('upsertBatchSize', merged.upsertBatchSize, 1, 100_000);
  checkInteger('retrieveBatchSize', merged.retrieveBatchSize, 1, 100_000);
  return merged;
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(field, `${field} must be an integer from ${min} to ${max}; got ${value}`);
  }
}

function invalid(field: string, message: string): BaheError {
  return new BaheError(ErrorCode.CONFIG_INVALID, message, { context: { field } });
}
