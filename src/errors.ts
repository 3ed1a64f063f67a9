/**
 * Every error bahe-stream raises carries a stable code, a message that says what to do, a retryable
 * flag and the context needed to act on it. Retry or dead-letter is then a decision over data.
 */

export const ErrorCode = {
  /** A configuration value is missing or outside its accepted range. */
  CONFIG_INVALID: 'BAHE_CONFIG_INVALID',
  /** A behavior text is empty after normalisation or longer than allowed. */
  BEHAVIOR_TEXT_INVALID: 'BAHE_BEHAVIOR_TEXT_INVALID',
  /** An event could not be decoded or failed validation. */
  EVENT_INVALID: 'BAHE_EVENT_INVALID',
  /** An event names a writer schema this reader does not know. */
  SCHEMA_UNKNOWN: 'BAHE_SCHEMA_UNKNOWN',
  /** A dataset folder or archive is missing, incomplete or fails its checksum. */
  DATASET_INVALID: 'BAHE_DATASET_INVALID',
  /** A dataset download failed. */
  DATASET_FETCH_FAILED: 'BAHE_DATASET_FETCH_FAILED',
  /** A model file is missing, unreadable or does not match its manifest. */
  MODEL_INVALID: 'BAHE_MODEL_INVALID',
  /** ONNX Runtime failed while running a graph. */
  MODEL_RUN_FAILED: 'BAHE_MODEL_RUN_FAILED',
  /** A requested execution provider (e.g. CUDA) could not be loaded. */
  PROVIDER_UNAVAILABLE: 'BAHE_PROVIDER_UNAVAILABLE',
  /** The embedding store refused or failed an operation. */
  STORE_FAILED: 'BAHE_STORE_FAILED',
  /** The embedding store holds data that does not match what the caller expects. */
  STORE_MISMATCH: 'BAHE_STORE_MISMATCH',
  /** Another process is using the same state folder (store and checkpoints). */
  STATE_IN_USE: 'BAHE_STATE_IN_USE',
  /** A checkpoint is unreadable, or belongs to another model or dataset. */
  CHECKPOINT_INVALID: 'BAHE_CHECKPOINT_INVALID',
  /** Training produced a non-finite loss or gradient. */
  TRAINING_DIVERGED: 'BAHE_TRAINING_DIVERGED',
  /** The Kafka broker or client failed. */
  KAFKA_FAILED: 'BAHE_KAFKA_FAILED',
  /** An HTTP request to a service is malformed or outside its limits. */
  REQUEST_INVALID: 'BAHE_REQUEST_INVALID',
  /** The scorer has no model version to serve yet. */
  MODEL_UNAVAILABLE: 'BAHE_MODEL_UNAVAILABLE',
  /** A service container (bahe-stream/testing) did not start or become ready. */
  CONTAINER_FAILED: 'BAHE_CONTAINER_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Context fields an error may carry; they are logged and copied into dead-letter records. */
export interface ErrorContext {
  topic?: string;
  partition?: number;
  offset?: string;
  behaviorId?: string;
  collection?: string;
  path?: string;
  field?: string;
  [key: string]: unknown;
}

export interface BaheErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  context?: ErrorContext;
}

export class BaheError extends Error {
  override readonly name = 'BaheError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, options: BaheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }

  /** A plain object for logs and dead-letter records. */
  toJSON(): Record<string, unknown> {
    const cause = this.cause instanceof Error ? this.cause.message : this.cause;
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      context: this.context,
      cause,
    };
  }
}

export function isBaheError(value: unknown, code?: ErrorCode): value is BaheError {
  return value instanceof BaheError && (code === undefined || value.code === code);
}
