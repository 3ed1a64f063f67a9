/** Options of `bahe serve`: model, where versions come from, request limits, store, HTTP and Kafka. */
import { LOG_OPTION_SPECS, RUNTIME_OPTION_SPECS } from '../commands/common.js';
import type { OptionSpecs, ParsedOptions } from '../config/options.js';
import { KAFKA_OPTION_SPECS } from '../kafka/cli-options.js';
import { DEFAULT_OPS_PORTS, opsOptionSpecs } from '../ops/options.js';
import { DEFAULT_MODEL_DIR } from '../paths.js';
import { RUN_OPTION_SPECS } from '../pipeline/run-options.js';
import { STORE_OPTION_SPECS } from '../store/select.js';

export const SERVE_OPTION_SPECS = {
  model: { kind: 'string', default: DEFAULT_MODEL_DIR, description: 'Compiled model folder.' },
  modelUpdates: {
    kind: 'string',
    choices: ['kafka', 'folder'],
    default: 'kafka',
    description:
      'How new model versions arrive: model-update events on --model-update-topic, or new files in --checkpoint-dir.',
  },
  checkpointDir: {
    kind: 'string',
    default: '.bahe/trainer/checkpoints',
    description:
      "Trainer checkpoints: the newest is loaded at start; watched with --model-updates folder; where an event's location is looked up when its path does not exist here.",
  },
  modelUpdateTopic: {
    kind: 'string',
    default: 'bahe.model-updates',
    description: 'Topic of the model-update events the trainer publishes.',
  },
  watchIntervalMs: {
    kind: 'integer',
    min: 100,
    max: 3_600_000,
    default: 2_000,
    description: 'How often the checkpoint folder is checked for a new file (--model-updates folder).',
  },
  ...STORE_OPTION_SPECS,
  maxBodyBytes: {
    kind: 'integer',
    min: 1_024,
    max: 64 * 1024 * 1024,
    default: 1024 * 1024,
    description: 'Largest /predict request body; a larger one is refused with 413.',
  },
  maxCandidates: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    default: 256,
    description: 'Most candidate items one /predict request may score.',
  },
  maxHistoryLength: {
    kind: 'integer',
    min: 1,
    max: 100_000,
    default: 1_000,
    description:
      'Most behaviors (all types together) one /predict history may hold; the model reads the latest per type.',
  },
  encoderMaxWaitMs: {
    kind: 'integer',
    min: 0,
    max: 1_000,
    default: 2,
    description:
      'How long a new behavior waits for others (from concurrent requests) to fill an encoder call.',
  },
  encoderBatchSize: RUN_OPTION_SPECS.encoderBatchSize,
  ...RUNTIME_OPTION_SPECS,
  ...opsOptionSpecs(DEFAULT_OPS_PORTS.serve, true),
  ...KAFKA_OPTION_SPECS,
  ...LOG_OPTION_SPECS,
} as const satisfies OptionSpecs;

export type ServeCliOptions = ParsedOptions<typeof SERVE_OPTION_SPECS>;
