/**
 * Retries with exponential backoff and full jitter, for calls to remote services whose failures are
 * sometimes transient (a restarting server, a dropped connection, 503 under load).
 */

export interface RetryPolicy {
  /** Retries after the first attempt; 0 tries once. */
  retries: number;
  /** Upper bound of the first backoff; each later bound doubles, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryHooks {
  /** Whether a failure is worth another attempt. */
  isRetryable: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log the failure; `attempt` counts from 1. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** A server's own wait hint (429 Retry-After), in ms, which wins over the computed delay. */
  delayHintMs?: (error: unknown) => number | undefined;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * The wait before retry number `attempt` (from 1): uniform in [0, min(maxDelayMs, baseDelayMs * 2^(attempt-1))].
 * Full jitter spreads the retries of many clients that failed together.
 */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `task` until it succeeds, fails with a non-retryable error, or the retries are spent. */
export async function withRetry<T>(
  task: () => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks,
): Promise<T> {
  const sleep = hooks.sleep ?? defaultSleep;
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await task();
    } catch (error) {
      if (attempt > policy.retries || !hooks.isRetryable(error)) throw error;
      const hint = hooks.delayHintMs?.(error);
      const delayMs =
        hint !== undefined ? Math.min(hint, policy.maxDelayMs) : backoffDelayMs(policy, attempt, random);
      hooks.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
