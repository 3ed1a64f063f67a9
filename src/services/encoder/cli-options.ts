/** Options of `bahe encoder`: topics, group, store, model, batching, admission, and the Kafka connection. */
import { LOG_OPTION_SPECS, RUNTIME_OPTION_SPECS } from '../../commands/common.js';
import type { OptionSpecs, ParsedOptions } from '../../config/options.js';
import { KAFKA_OPTION_SPECS } from '../../kafka/cli-options.js';
import { DEFAULT_MODEL_DIR } from '../../paths.js';
import { STORE_OPTION_SPECS } from '../../store/select.js';
import { CONSUMER_GROUP_OPTION_SPECS } from '../consumer-options.js';
import { ENCODER_SERVICE_DEFAULTS as D } from './service-options.js';

export const ENCODER_OPTION_SPECS = {
  behaviorTopic: {
    kind: 'string',
    default: 'bahe.behavior-events',
    description: 'Topic of the behavior events (as bahe produce writes them).',
  },
  impressionTopic: {
    kind: 'string',
    default: 'bahe.impression-events',
    description: 'Topic of the impression events; their histories and candidate items are encoded too.',
  },
  refsTopic: {
    kind: 'string',
    default: D.refsTopic,
    description:
      'Internal topic of behavior references keyed by behavior id; its partitions spread the encoding.',
  },
  deadLetterTopic: {
    kind: 'string',
    description: 'One dead-letter topic for every unreadable message. Default: <source topic>.dlq per topic.',
  },
  groupId: {
    kind: 'string',
    default: 'bahe-encoder',
    description: 'Consumer group shared by every encoder instance.',
  },
  model: { kind: 'string', default: DEFAULT_MODEL_DIR, description: 'Compiled model folder.' },
  ...STORE_OPTION_SPECS,
  encoderBatchSize: {
    kind: 'integer',
    min: 1,
    max: 4096,
    default: D.encoderBatchSize,
    description: 'Texts per encoder call at most; also references handled between two commits.',
  },
  encoderMaxWaitMs: {
    kind: 'integer',
    min: 0,
    max: 60_000,
    default: D.encoderMaxWaitMs,
    description: 'How long a new behavior waits for others to fill an encoder call.',
  },
  admissionThreshold: {
    kind: 'integer',
    min: 1,
    max: 1_000_000,
    default: D.admissionThreshold,
    description:
      'Encode a behavior only once mentioned this many times (counts are in memory and lost on restart).',
  },
  ...RUNTIME_OPTION_SPECS,
  concurrentPartitions: {
    kind: 'integer',
    min: 1,
    max: 1000,
    default: D.concurrentPartitions,
    description: 'Partitions processed at once; their new behaviors share encoder calls.',
  },
  ...CONSUMER_GROUP_OPTION_SPECS,
  createTopics: {
    kind: 'boolean',
    default: D.createTopics,
    description: 'Create the internal and dead-letter topics when missing.',
  },
  refsPartitions: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: D.refsPartitions,
    description: 'Partitions of a created internal topic: at most this many instances share the encoding.',
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

export type EncoderCliOptions = ParsedOptions<typeof ENCODER_OPTION_SPECS>;
