/**
 * The one place where failures of the Qdrant client become the project's errors: transient ones
 * (connection refused or reset, timeouts, 429, 5xx) are marked retryable; permanent ones (bad
 * credentials, a missing collection, a dimension mismatch, a refused request) are not, and say what to do.
 */
import { BaheError, ErrorCode } from '../errors.js';

export interface QdrantCallContext {
  /** What was being done, e.g. `upsert`; goes into the message. */
  operation: string;
  /** Collection or alias the call addressed, when it addressed one. */
  collection?: string;
  /** Server address without credentials. */
  url: string;
}

/** HTTP statuses worth another attempt: timeouts, rate limits and server-side trouble. */
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Socket-level error codes of a connection that may work on the next attempt. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

interface HttpFailure {
  status: number;
  data?: unknown;
  headers?: { get(name: string): string | null };
}

/** Translates anything the client threw into a BaheError; a BaheError passes through unchanged. */
export function translateQdrantError(error: unknown, call: QdrantCallContext): BaheError {
  if (error instanceof BaheError) return error;
  const context = { collection: call.collection, url: call.url, operation: call.operation };
  const where = `Qdrant ${call.operation}${call.collection === undefined ? '' : ` on ${call.collection}`}`;

  if (isHttpFailure(error)) {
    const { status } = error;
    const detail = serverMessage(error.data);
    const said = detail === undefined ? '' : `: ${detail}`;
    const withStatus = { ...context, status };
    if (TRANSIENT_STATUSES.has(status)) {
      return new BaheError(ErrorCode.STORE_FAILED, `${where} failed with HTTP ${status}${said}; retried`, {
        cause: error,
        retryable: true,
        context: { ...withStatus, retryAfterMs: retryAfterMs(error) },
      });
    }
    if (status === 401 || status === 403) {
      return new BaheError(
        ErrorCode.STORE_FAILED,
        `${where} was refused (HTTP ${status}): the server at ${call.url} did not accept the credentials; ` +
          'check --qdrant-api-key (BAHE_QDRANT_API_KEY or QDRANT_API_KEY)',
        { cause: error, context: withStatus },
      );
    }
    if (status === 404) {
      return new BaheError(
        ErrorCode.STORE_FAILED,
        `${where}: not found (HTTP 404)${said}; the collection or alias does not exist: open the store for ` +
          'writing once to create it, or check --qdrant-url and --qdrant-collection-prefix',
        { cause: error, context: withStatus },
      );
    }
    if (status === 413) {
      return new BaheError(
        ErrorCode.STORE_FAILED,
        `${where}: the request was too large for the server (HTTP 413); lower --qdrant-max-request-bytes`,
        { cause: error, context: withStatus },
      );
    }
    if (detail !== undefined && /dimension/i.test(detail)) {
      return new BaheError(
        ErrorCode.STORE_MISMATCH,
        `${where} was refused${said}; the collection holds vectors of another dimension than this encoder's: ` +
          'use the model the collection was made with, or backfill a new encoder version',
        { cause: error, context: withStatus },
      );
    }
    return new BaheError(ErrorCode.STORE_FAILED, `${where} was refused (HTTP ${status})${said}`, {
      cause: error,
      context: withStatus,
    });
  }

  const name = error instanceof Error ? error.constructor.name : '';
  if (name === 'QdrantClientTimeoutError') {
    return new BaheError(
      ErrorCode.STORE_FAILED,
      `${where} timed out; retried (raise --qdrant-timeout-ms if the server is slow rather than down)`,
      { cause: error, retryable: true, context },
    );
  }
  if (name === 'QdrantClientResourceExhaustedError') {
    const seconds = Number((error as { retry_after?: unknown }).retry_after);
    return new BaheError(ErrorCode.STORE_FAILED, `${where}: the server is rate limiting; retried`, {
      cause: error,
      retryable: true,
      context: {
        ...context,
        status: 429,
        retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined,
      },
    });
  }

  const code = networkCode(error);
  if (code !== undefined && TRANSIENT_NETWORK_CODES.has(code)) {
    return new BaheError(
      ErrorCode.STORE_FAILED,
      `${where}: the Qdrant server at ${call.url} could not be reached (${code}); retried — check that it ` +
        'runs and that --qdrant-url (or QDRANT_URL) points at it',
      { cause: error, retryable: true, context: { ...context, networkCode: code } },
    );
  }
  if (code !== undefined && /CERT|SELF_SIGNED|TLS|SSL/.test(code)) {
    return new BaheError(
      ErrorCode.STORE_FAILED,
      `${where}: the TLS connection to ${call.url} failed (${code}); for a private certificate authority ` +
        'start the process with NODE_EXTRA_CA_CERTS=<PEM file>',
      { cause: error, context: { ...context, networkCode: code } },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BaheError(ErrorCode.STORE_FAILED, `${where} failed: ${message}`, { cause: error, context });
}

function isHttpFailure(error: unknown): error is HttpFailure {
  return (
    error instanceof Error && typeof (error as { status?: unknown }).status === 'number' && 'data' in error
  );
}

/** Qdrant puts the reason of a refused request in `status.error` of its JSON answer. */
function serverMessage(data: unknown): string | undefined {
  if (typeof data === 'string') return data.length > 0 ? data.slice(0, 300) : undefined;
  const status = (data as { status?: unknown } | undefined)?.status;
  const text = (status as { error?: unknown } | undefined)?.error;
  return typeof text === 'string' ? text.slice(0, 300) : undefined;
}

function retryAfterMs(error: HttpFailure): number | undefined {
  const header = error.headers?.get('retry-after');
  if (header === null || header === undefined) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The socket error code of a failed fetch: undici wraps it as the cause of a TypeError. */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
