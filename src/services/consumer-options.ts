/**
 * Consumer-group settings every Kafka service shares: their defaults, their flags, and one check
 * of the group id, the numeric ranges and the heartbeat/session relation.
 */
import type { OptionSpecs } from '../config/options.js';
import { BaheError, ErrorCode } from '../errors.js';

export interface ConsumerGroupOptions {
  /** Consumer group shared by every instance. */
  groupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How long the broker may hold a fetch open when no message waits; a stop waits for the fetch in flight. */
  fetchMaxWaitMs: number;
  /** Consumer restarts after a retryable failure (e.g. the broker gone) before the service gives up. */
  maxConsumerRestarts: number;
}

export const CONSUMER_GROUP_DEFAULTS = Object.freeze({
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  fetchMaxWaitMs: 1_000,
  maxConsumerRestarts: 5,
});

export const CONSUMER_GROUP_RANGES = {
  sessionTimeoutMs: [6_000, 1_800_000],
  heartbeatIntervalMs: [100, 600_000],
  fetchMaxWaitMs: [10, 60_000],
  maxConsumerRestarts: [0, 1_000],
} as const satisfies Record<string, readonly [number, number]>;

const {
  sessionTimeoutMs: session,
  heartbeatIntervalMs: heartbeat,
  fetchMaxWaitMs: fetchWait,
  maxConsumerRestarts: restarts,
} = CONSUMER_GROUP_RANGES;

export const CONSUMER_GROUP_OPTION_SPECS = {
  sessionTimeoutMs: {
    kind: 'integer',
    min: session[0],
    max: session[1],
    default: CONSUMER_GROUP_DEFAULTS.sessionTimeoutMs,
    description: 'Group session timeout; the service heartbeats while it works, so a long batch is fine.',
  },
  heartbeatIntervalMs: {
    kind: 'integer',
    min: heartbeat[0],
    max: heartbeat[1],
    default: CONSUMER_GROUP_DEFAULTS.heartbeatIntervalMs,
    description: 'Heartbeat interval, at most a third of the session timeout.',
  },
  fetchMaxWaitMs: {
    kind: 'integer',
    min: fetchWait[0],
    max: fetchWait[1],
    default: CONSUMER_GROUP_DEFAULTS.fetchMaxWaitMs,
    description: 'How long the broker may hold an empty fetch open; a stop waits for the fetch in flight.',
  },
  maxConsumerRestarts: {
    kind: 'integer',
    min: restarts[0],
    max: restarts[1],
    default: CONSUMER_GROUP_DEFAULTS.maxConsumerRestarts,
    description: 'Consumer restarts after its retries ran out (e.g. broker down) before the service exits.',
  },
} as const satisfies OptionSpecs;

/**
 * Checks the group id, every integer field named in `ranges` (the consumer group's and the service's
 * own), and that heartbeats come at least three times per session timeout.
 */
export function checkConsumerGroupOptions(
  options: ConsumerGroupOptions,
  ranges: Readonly<Record<string, readonly [number, number]>>,
): void {
  const values = options as unknown as Record<string, unknown>;
  if (typeof options.groupId !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(options.groupId)) {
    throw invalidOption('groupId', 'groupId must be 1 to 249 characters from [A-Za-z0-9._-]');
  }
  for (const [field, [min, max]] of Object.entries({ ...CONSUMER_GROUP_RANGES, ...ranges })) {
    const value = values[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalidOption(field, `${field} must be an integer in [${min}, ${max}], got ${String(value)}`);
    }
  }
  if (options.heartbeatIntervalMs * 3 > options.sessionTimeoutMs) {
    throw invalidOption(
      'heartbeatIntervalMs',
      `heartbeatIntervalMs (${options.heartbeatIntervalMs}) must be at most a third of sessionTimeoutMs (${options.sessionTimeoutMs})`,
    );
  }
}

export function invalidOption(field: string, message: string): BaheError {
  return new BaheError(ErrorCode.CONFIG_INVALID, message, { context: { field } });
}
