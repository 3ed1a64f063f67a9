/** Options of the encoder service, with their defaults in one object, checked once at construction. */
import { definedOnly } from '../../config/options.js';
import { checkTopicName } from '../../kafka/topics.js';
import {
  CONSUMER_GROUP_DEFAULTS,
  type ConsumerGroupOptions,
  checkConsumerGroupOptions,
  invalidOption,
} from '../consumer-options.js';

export interface EncoderServiceOptions extends ConsumerGroupOptions {
  /** Behavior events, as `bahe produce` writes them. */
  behaviorTopic: string;
  /** Impression events; their histories and candidate items are behaviors too. */
  impressionTopic: string;
  /** Internal topic of behavior references keyed by behavior id; its partitions spread the encoding. */
  refsTopic: string;
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
  ...CONSUMER_GROUP_DEFAULTS,
  refsTopic: 'bahe.behavior-refs',
  encoderBatchSize: 256,
  encoderMaxWaitMs: 20,
  admissionThreshold: 1,
  concurrentPartitions: 3,
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
    throw invalidOption(
      'refsTopic',
      `behaviorTopic, impressionTopic and refsTopic must differ, got ${topics.join(', ')}`,
    );
  }
  checkConsumerGroupOptions(merged, RANGES);
  return merged;
}
