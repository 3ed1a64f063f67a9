/** The `bahe trainer` command: runs the trainer service until SIGINT or SIGTERM. */
import { DEFAULT_OPS_PORTS } from '../ops/options.js';
import { TRAINER_OPTION_SPECS } from '../services/trainer/cli-options.js';
import { runTrainer } from '../services/trainer/run.js';
import { runServiceCommand, type ServiceCommand, serviceCommandSpecs } from './service-command.js';

export const summary =
  'Train the upper layers and CTR head from the impression topic in micro-batches; checkpoint and publish model updates.';

const command: ServiceCommand<typeof TRAINER_OPTION_SPECS> = {
  name: 'trainer',
  summary,
  serviceSpecs: TRAINER_OPTION_SPECS,
  defaultOpsPort: DEFAULT_OPS_PORTS.trainer,
  stopping: 'stopping: finishing the step in progress, checkpointing, publishing',
  run: runTrainer,
};

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = serviceCommandSpecs(TRAINER_OPTION_SPECS, DEFAULT_OPS_PORTS.trainer);

export const main = (argv: string[]): Promise<number> => runServiceCommand(command, argv);
