/** The one place where kafkajs failures become BAHE_KAFKA_FAILED. */
import { BaheError, ErrorCode, type ErrorContext, isBaheError } from '../errors.js';

/**
 * Wraps a kafkajs (or socket) error as BAHE_KAFKA_FAILED: `doing` says what was attempted, the
 * retryable flag is kafkajs' own `retriable` verdict. A BaheError passes through unchanged.
 */
export function kafkaFailed(doing: string, cause: unknown, context: ErrorContext = {}): BaheError {
  if (isBaheError(cause)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const retryable = isRetriable(cause);
  const advice = retryable
    ? 'the broker may be starting, moving leaders or unreachable; retry later'
    : 'check the brokers, topic names, credentials and ACLs';
  return new BaheError(ErrorCode.KAFKA_FAILED, `${doing} failed: ${detail}; ${advice}`, {
    cause,
    retryable,
    context: { ...context, kafkaError: errorName(cause) },
  });
}

/** Runs `action`, translating whatever it throws with `kafkaFailed`. */
export async function withKafkaErrors<T>(
  doing: string,
  context: ErrorContext,
  action: () => Promise<T>,
): Promise<T> {
  try {
    return await action();
  } catch (cause) {
    throw kafkaFailed(doing, cause, context);
  }
}

function isRetriable(cause: unknown): boolean {
  if (typeof cause !== 'object' || cause === null) return false;
  // kafkajs marks "my own retries ran out" as non-retriable; whether a later retry can succeed (a broker
  // outage) or never will (bad credentials) is decided by the error underneath.
  const inner = (cause as { cause?: unknown }).cause;
  if ((cause as { name?: unknown }).name === 'KafkaJSNumberOfRetriesExceeded' && inner !== undefined) {
    return isRetriable(inner);
  }
  const retriable = (cause as { retriable?: unknown }).retriable;
  if (typeof retriable === 'boolean') return retriable;
  // A bare socket error (ECONNREFUSED, ECONNRESET) never reached kafkajs' classification; an outage is worth a retry.
  return (
    typeof (cause as { code?: unknown }).code === 'string' &&
    (cause as { syscall?: unknown }).syscall !== undefined
  );
}

function errorName(cause: unknown): string | undefined {
  if (cause instanceof Error) return cause.name;
  return undefined;
}
