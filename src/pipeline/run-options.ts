/** Options of `bahe run`, the in-process pipeline over a replayed dataset. */
import { LOG_OPTION_SPECS, RUNTIME_OPTION_SPECS } from '../commands/common.js';
import type { OptionSpecs, ParsedOptions } from '../config/options.js';
import { DEFAULT_MODEL_DIR } from '../paths.js';
import { STORE_OPTION_SPECS } from '../store/select.js';
import { TRAINING_OPTION_SPECS } from '../trainer/setup.js';

export const RUN_OPTION_SPECS = {
  data: {
    kind: 'string',
    description:
      'MovieLens-100K folder (u.data, u.item). Default: ../shared/data/movielens-100k beside the package when present, ' +
      'otherwise the archive is fetched from its publisher into --cache-dir and checked against its ' +
      'published checksum (and BAHE_ML100K_SHA256 when set).',
  },
  model: { kind: 'string', default: DEFAULT_MODEL_DIR, description: 'Compiled model folder.' },
  stateDir: {
    kind: 'string',
    default: '.bahe',
    description: 'Where the checkpoints live; a second run resumes from here.',
  },
  ...STORE_OPTION_SPECS,
  cacheDir: { kind: 'string', description: 'Where fetched datasets are kept. Default: <state-dir>/cache.' },
  maxImpressions: {
    kind: 'integer',
    min: 0,
    default: 20_000,
    description: 'Impressions to train on in this run (0: all that remain in the stream).',
  },
  ...RUNTIME_OPTION_SPECS,
  encoderBatchSize: {
    kind: 'integer',
    min: 1,
    max: 4096,
    default: 256,
    description: 'Texts per encoder call.',
  },
  encoderMaxWaitMs: {
    kind: 'integer',
    min: 0,
    max: 60_000,
    default: 20,
    description: 'How long a new behavior waits for others to fill an encoder batch.',
  },
  checkpointEverySteps: {
    kind: 'integer',
    min: 1,
    default: 25,
    description: 'Training steps between checkpoints (one is always written at the end).',
  },
  keepCheckpoints: {
    kind: 'integer',
    min: 1,
    max: 1000,
    default: 3,
    description: 'Checkpoints kept on disk.',
  },
  ...TRAINING_OPTION_SPECS,
  progressIntervalMs: {
    kind: 'integer',
    min: 100,
    default: 5_000,
    description: 'Milliseconds between progress lines.',
  },
  ...LOG_OPTION_SPECS,
  json: { kind: 'boolean', default: false, description: 'Print the summary as JSON instead of a table.' },
} as const satisfies OptionSpecs;

export type RunOptions = ParsedOptions<typeof RUN_OPTION_SPECS>;
