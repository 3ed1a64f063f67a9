/** Options of `bahe trainer`: topics, group, state folder, model, micro-batching, checkpoints, Kafka connection. */
import { LOG_OPTION_SPECS, RUNTIME_OPTION_SPECS } from '../../commands/common.js';
import type { OptionSpecs, ParsedOptions } from '../../config/options.js';
import { KAFKA_OPTION_SPECS } from '../../kafka/cli-options.js';
import { DEFAULT_MODEL_DIR } from '../../paths.js';
import { STORE_OPTION_SPECS } from '../../store/select.js';
import { TRAINING_OPTION_SPECS } from '../../trainer/setup.js';
import { CONSUMER_GROUP_OPTION_SPECS } from '../consumer-options.js';
import { TRAINER_SERVICE_DEFAULTS as D } from './service-options.js';

export const TRAINER_OPTION_SPECS = {
  impressionTopic: {
    kind: 'string',
    default: 'bahe.impression-events',
    description: 'Topic of the impression events (as bahe produce writes them).',
  },
  modelUpdateTopic: {
    kind: 'string',
    default: D.modelUpdateTopic,
    description:
      'Topic a model-update event (version, step, metrics, checkpoint path) goes to after each checkpoint.',
  },
  deadLetterTopic: {
    kind: 'string',
    description: 'Topic for unreadable impression messages. Default: <impression topic>.dlq.',
  },
  groupId: {
    kind: 'string',
    default: 'bahe-trainer',
    description:
      'Consumer group of the trainer; run one instance (the checkpoint is the single record of training).',
  },
  model: { kind: 'string', default: DEFAULT_MODEL_DIR, description: 'Compiled model folder.' },
  stateDir: {
    kind: 'string',
    default: '.bahe/trainer',
    description: 'Checkpoints of this trainer (locked: one process per folder); a restart resumes from here.',
  },
  ...STORE_OPTION_SPECS,
  batchMaxWaitMs: {
    kind: 'integer',
    min: 0,
    max: 3_600_000,
    default: D.batchMaxWaitMs,
    description:
      'How long an impression waits for its micro-batch to fill before a short one is trained, padded.',
  },
  checkpointEverySteps: {
    kind: 'integer',
    min: 1,
    max: 1_000_000,
    default: D.checkpointEverySteps,
    description: 'Training steps between checkpoints (one is also written on stop).',
  },
  keepCheckpoints: {
    kind: 'integer',
    min: 1,
    max: 1000,
    default: D.keepCheckpoints,
    description: 'Checkpoints kept on disk.',
  },
  ...TRAINING_OPTION_SPECS,
  ...RUNTIME_OPTION_SPECS,
  encoderBatchSize: {
    kind: 'integer',
    min: 1,
    max: 4096,
    default: D.encoderBatchSize,
    description: 'Texts per encoder call for behaviors the store does not hold yet (encoded read-through).',
  },
  encoderMaxWaitMs: {
    kind: 'integer',
    min: 0,
    max: 60_000,
    default: D.encoderMaxWaitMs,
    description: 'How long a new behavior waits for others to fill an encoder call.',
  },
  storeWaitMs: {
    kind: 'integer',
    min: 0,
    max: 600_000,
    default: D.storeWaitMs,
    description:
      'How long a micro-batch waits for missing vectors to be put by the encoder service before it ' +
      'encodes them itself (0: at once, as when no encoder service runs).',
  },
  ...CONSUMER_GROUP_OPTION_SPECS,
  createTopics: {
    kind: 'boolean',
    default: D.createTopics,
    description: 'Create the model-update and dead-letter topics when missing.',
  },
  replicationFactor: {
    kind: 'integer',
    min: 1,
    max: 100,
    default: D.replicationFactor,
    description: 'Replicas of a created topic.',
  },
  ...KAFKA_OPTION_SPECS,
  ...LOG_OPTION_SPECS,
} as const satisfies OptionSpecs;

export type TrainerCliOptions = ParsedOptions<typeof TRAINER_OPTION_SPECS>;
