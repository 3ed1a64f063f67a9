/** Options of the encoder service, with their defaults in one object, checked once at construction. */
import { definedOnly } from '../../config/options.js';
import { BaheError, ErrorCode } from '../../errors.js';
import { checkTopicName } from '../../kafka/topics.js';

export interface EncoderServiceOptions {
  /** Behavior events, as `bahe produce` writes them. */
  behaviorTopic: string;
  /** Impression events; their histories and candidate items are behaviors too. */
  impressionTopic: string;
  /** Internal topic of behavior references keyed by behavior id; its partitions spread the encoding. */
  refsTopic: string;
  /** Consumer group shared by every instance. */
  groupId: string;
  /** One dead-letter topic for all; by default each source topic has its own `<topic>.dlq`. */
  deadLetterTopic?: string | undefined;
  /** Texts per encoder call at most. */
  encoderBatchSize: number;
  /** How long a new behavior may wait for others to fill its encoder call. */
  encoderMaxWaitMs: number;
  /** Encode a behavior only once it was mentioned this many times. */
  admissionThreshold: number;
  /** Partitions whose batches are processed at once; their new behaviors share encoder calls. */
  concurrentPartitions: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How long the broker may hold a fetch open when no message waits; a stop waits for the fetch in flight. */
  fetchMaxWaitMs: number;
  /** Consumer restarts after a retryable failure (e.g. the broker gone) before the service gives up. */
  maxConsumerRestarts: number;
  /** Create the internal and dead-letter topics when missing. */
  createTopics: boolean;
  /** Partitions of a created internal topic: at most this many instances share the encoding. */
  refsPartitions: number;
  /** Replicas of a created topic. */
  replicationFactor: number;
  /** A group without committed offsets starts at the oldest message (otherwise at the newest). */
  fromBeginning: boolean;
}

export const ENCODER_SERVICE_DEFAULTS = Object.freeze({
  refsTopic: 'bahe.behavior-refs',
  encoderBatchSize: 256,
  encoderMaxWaitMs: 20,
  admissionThreshold: 1,
  concurrentPartitions: 3,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  fetchMaxWaitMs: 1_000,
  maxConsumerRestarts: 5,
  createTopics: true,
  refsPartitions: 6,
  replicationFactor: 1,
  fromBeginning: true,
});

type Given = Pick<EncoderServiceOptions, 'behaviorTopic' | 'impressionTopic' | 'groupId'> &
  Partial<EncoderServiceOptions>;

const RANGES: Record<string, [number, number]> = {
  encoderBatchSize: [1, 65_536],
  encoderMaxWaitMs: [0, 600_000],
  admissionThreshold: [1, 1_000_000],
  concurrentPartitions: [1, 1_000],
  sessionTimeoutMs: [6_000, 1_800_000],
  heartbeatIntervalMs: [100, 600_000],
  fetchMaxWaitMs: [10, 60_000],
  maxConsumerRestarts: [0, 1_000],
  refsPartitions: [1, 10_000],
  replicationFactor: [1, 100],
};

/** Applies the defaults (an undefined value keeps the default) and fails on the first bad field. */
export function checkEncoderServiceOptions(options: Given): EncoderServiceOptions {
  const merged: EncoderServiceOptions = {
    ...ENCODER_SERVICE_DEFAULTS,
    ...definedOnly(options),
  } as EncoderServiceOptions;
  checkTopicName(merged.behaviorTopic, 'behaviorTopic');
  checkTopicName(merged.impressionTopic, 'impressionTopic');
  checkTopicName(merged.refsTopic, 'refsTopic');
  if (merged.deadLetterTopic !== undefined) checkTopicName(merged.deadLetterTopic, 'deadLetterTopic');
  const topics = [merged.behaviorTopic, merged.impressionTopic, merged.refsTopic];
  if (new Set(topics).size !== topics.length) {
    throw invalid(
      'refsTopic',
      `behaviorTopic, impressionTopic and refsTopic must differ, got ${topics.join(', ')}`,
    );
  }
  if (typeof merged.groupId !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(merged.groupId)) {
    throw invalid('groupId', 'groupId must be 1 to 249 characters from [A-Za-z0-9._-]');
  }

  for (const [field, [min, max]] of Object.entries(RANGES)) {
    const value = merged[field as keyof EncoderServiceOptions];
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
