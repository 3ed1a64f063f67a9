/** Options of `bahe produce`: the dataset, the topics, pacing, and the Kafka connection. */

import { LOG_OPTION_SPECS } from '../commands/common.js';
import type { OptionSpecs, ParsedOptions } from '../config/options.js';
import { KAFKA_OPTION_SPECS } from '../kafka/cli-options.js';

export const PRODUCE_OPTION_SPECS = {
  dataset: {
    kind: 'string',
    choices: ['movielens', 'mind'],
    default: 'movielens',
    description: 'Dataset format: MovieLens-100K (u.data, u.item) or MIND (behaviors.tsv, news.tsv).',
  },
  data: {
    kind: 'string',
    description:
      'Dataset folder. Default: ../shared/data/movielens-100k or ../shared/data/mind-small-sample when present; ' +
      'MovieLens is otherwise fetched from its publisher into --cache-dir and checked against its checksum.',
  },
  cacheDir: {
    kind: 'string',
    default: '.bahe/cache',
    description: 'Where a fetched MovieLens archive is kept.',
  },
  behaviorTopic: {
    kind: 'string',
    default: 'bahe.behavior-events',
    description: 'Topic of the behavior events (keyed by user id).',
  },
  impressionTopic: {
    kind: 'string',
    default: 'bahe.impression-events',
    description: 'Topic of the impression events (keyed by user id).',
  },
  createTopics: {
    kind: 'boolean',
    default: true,
    description: 'Create missing topics with --partitions and --replication-factor before producing.',
  },
  partitions: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 6,
    description: 'Partitions of a created topic.',
  },
  replicationFactor: {
    kind: 'integer',
    min: 1,
    max: 100,
    default: 1,
    description: 'Replicas of a created topic (1 for a single broker; 3 is usual in production).',
  },
  skipEvents: {
    kind: 'integer',
    min: 0,
    default: 0,
    description:
      'Events of the stream to leave out before producing: the events acknowledged by an earlier replay that stopped, to resume it.',
  },
  maxEvents: {
    kind: 'integer',
    min: 0,
    default: 0,
    description: 'Events to produce, counted after --skip-events (0: all).',
  },
  ratePerS: {
    kind: 'number',
    min: 0,
    max: 10_000_000,
    default: 0,
    description: 'Events per second at most (0: as fast as the brokers acknowledge).',
  },
  batchSize: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 500,
    description: 'Events per producer request; each request is acknowledged before the next is sent.',
  },
  maxHistory: {
    kind: 'integer',
    min: 0,
    max: 10_000,
    default: 50,
    description: 'MIND only: most recent behaviors carried in each impression.',
  },
  progressIntervalMs: {
    kind: 'integer',
    min: 100,
    default: 5_000,
    description: 'Milliseconds between progress lines.',
  },
  ...KAFKA_OPTION_SPECS,
  ...LOG_OPTION_SPECS,
  json: {
    kind: 'boolean',
    default: false,
    description: 'Print the final counts as JSON instead of a table.',
  },
} as const satisfies OptionSpecs;

export type ProduceOptions = ParsedOptions<typeof PRODUCE_OPTION_SPECS>;
