/** Options of the trainer service, with their defaults in one object, checked once at construction. */
import { definedOnly } from '../../config/options.js';
import { checkTopicName } from '../../kafka/topics.js';
import {
  CONSUMER_GROUP_DEFAULTS,
  type ConsumerGroupOptions,
  checkConsumerGroupOptions,
  invalidOption,
} from '../consumer-options.js';

export interface TrainerServiceOptions extends ConsumerGroupOptions {
  /** Impression events, as `bahe produce` writes them. */
  impressionTopic: string;
  /** Where a model-update event is published after each checkpoint. */
  modelUpdateTopic: string;
  /** The trainer's own consumer group; one member (see the service's note on rebalances). */
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
  /**
   * How long the vectors of a micro-batch may take to appear in the store (the encoder service puts
   * them) before the missing ones are encoded read-through.
   */
  storeWaitMs: number;
  /** Create the model-update and dead-letter topics when missing. */
  createTopics: boolean;
  /** Replicas of a created topic. */
  replicationFactor: number;
}

export const TRAINER_SERVICE_DEFAULTS = Object.freeze({
  ...CONSUMER_GROUP_DEFAULTS,
  modelUpdateTopic: 'bahe.model-updates',
  batchMaxWaitMs: 5_000,
  checkpointEverySteps: 25,
  keepCheckpoints: 3,
  encoderBatchSize: 256,
  encoderMaxWaitMs: 20,
  storeWaitMs: 10_000,
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
  storeWaitMs: [0, 600_000],
  replicationFactor: [1, 100],
};

/** Applies the defaults (an undefined value keeps the default) and fails on the first bad field. */
export function checkTrainerServiceOptions(options: Given): TrainerServiceOptions {
  const merged = { ...TRAINER_SERVICE_DEFAULTS, ...definedOnly(options) } as TrainerServiceOptions;
  checkTopicName(merged.impressionTopic, 'impressionTopic');
  checkTopicName(merged.modelUpdateTopic, 'modelUpdateTopic');
  if (merged.deadLetterTopic !== undefined) checkTopicName(merged.deadLetterTopic, 'deadLetterTopic');
  if (merged.modelUpdateTopic === merged.impressionTopic) {
    throw invalidOption('modelUpdateTopic', 'modelUpdateTopic must differ from impressionTopic');
  }
  checkConsumerGroupOptions(merged, RANGES);
  return merged;
}
