/** Options of the trainer service, with their defaults in one object, checked once at construction. */
import { definedOnly } from '../../config/options.js';
import { BaheError, ErrorCode } from '../../errors.js';
import { checkTopicName } from '../../kafka/topics.js';

export interface TrainerServiceOptions {
  /** Impression events, as `bahe produce` writes them. */
  impressionTopic: string;
  /** Where a model-update event is published after each checkpoint. */
  modelUpdateTopic: string;
  /** The trainer's own consumer group; one member (see the service's note on rebalances). */
  groupId: string;
  /** Dead-letter topic; `<impressionTopic>.dlq` by default. */
  deadLetterTopic?: string | undefined;
  /** How long the oldest waiting impression may wait before a short micro-batch is trained, padded. */
  batchMaxWaitMs: number;
  /** Training steps between checkpoints; one is also written on stop. */
  checkpointEverySteps: number;
  /** Checkpoints kept in the state folder. */
  keepCheckpoints: number;
  /** Texts per encoder call when vectors missing from the store are encoded read-through. */
  encoderBatchSize: number;
  encoderMaxWaitMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How long the broker may hold an empty fetch open; a stop waits for the fetch in flight. */
  fetchMaxWaitMs: number;
  /** Consumer restarts after a retryable Kafka failure before the service gives up. */
  maxConsumerRestarts: number;
  /** Create the model-update and dead-letter topics when missing. */
  createTopics: boolean;
  /** Replicas of a created topic. */
  replicationFactor: number;
}

export const TRAINER_SERVICE_DEFAULTS = Object.freeze({
  modelUpdateTopic: 'bahe.model-updates',
  batchMaxWaitMs: 5_000,
  checkpointEverySteps: 25,
  keepCheckpoints: 3,
  encoderBatchSize: 256,
  encoderMaxWaitMs: 20,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  fetchMaxWaitMs: 1_000,
  maxConsumerRestarts: 5,
  createTopics: true,
  replicationFactor: 1,
});

type Given = Pick<TrainerServiceOptions, 'impressionTopic' | 'groupId'> & Partial<TrainerServiceOptions>;

const RANGES: Record<string, [number, number]> = {
  batchMaxWaitMs: [0, 3_600_000],
  checkpointEverySteps: [1, 1_000_000],
  keepCheckpoints: [1, 1_000],
  encoderBatchSize: [1, 65_536],
  encoderMaxWaitMs: [0, 600_000],
  sessionTimeoutMs: [6_000, 1_800_000],
  heartbeatIntervalMs: [100, 600_000],
  fetchMaxWaitMs: [10, 60_000],
  maxConsumerRestarts: [0, 1_000],
  replicationFactor: [1, 100],
};

/** Applies the defaults (an undefined value keeps the default) and fails on the first bad field. */
export function checkTrainerServiceOptions(options: Given): TrainerServiceOptions {
  const merged = { ...TRAINER_SERVICE_DEFAULTS, ...definedOnly(options) } as TrainerServiceOptions;
  checkTopicName(merged.impressionTopic, 'impressionTopic');
  checkTopicName(merged.modelUpdateTopic, 'modelUpdateTopic');
  if (merged.deadLetterTopic !== undefined) checkTopicName(merged.deadLetterTopic, 'deadLetterTopic');
  if (merged.modelUpdateTopic === merged.impressionTopic) {
    throw invalid('modelUpdateTopic', 'modelUpdateTopic must differ from impressionTopic');
  }
  if (typeof merged.groupId !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(merged.groupId)) {
    throw invalid('groupId', 'groupId must be 1 to 249 characters from [A-Za-z0-9._-]');
  }

  for (const [field, [min, max]] of Object.entries(RANGES)) {
    const value = merged[field as keyof TrainerServiceOptions];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalid(field, `${field} must be an integer in [${min}, ${max}], got ${String(value)}`);
    }
  }
  if (merged.heartbeatIntervalMs * 3 > merged.sessionTimeoutMs) {
    throw invalid(
      'heartbeatIntervalMs',
      `heartbeatIntervalMs (${merged.heartbeatIntervalMs}) must be at most a third of sessionTimeoutMs (${merged.sessionTimeoutMs})`,
    );
  }
  return merged;
}

function invalid(field: string, message: string): BaheError {
  return new BaheError(ErrorCode.CONFIG_INVALID, message, { context: { field } });
}
