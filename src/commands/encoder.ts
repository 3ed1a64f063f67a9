/** The `bahe encoder` command: runs one encoder service instance until SIGINT or SIGTERM. */
import { DEFAULT_OPS_PORTS } from '../ops/options.js';
import { ENCODER_OPTION_SPECS } from '../services/encoder/cli-options.js';
import { runEncoder } from '../services/encoder/run.js';
import { runServiceCommand, type ServiceCommand, serviceCommandSpecs } from './service-command.js';

export const summary =
  'Encode new behaviors from the behavior and impression topics into the store, as a consumer group member.';

const command: ServiceCommand<typeof ENCODER_OPTION_SPECS> = {
  name: 'encoder',
  summary,
  serviceSpecs: ENCODER_OPTION_SPECS,
  defaultOpsPort: DEFAULT_OPS_PORTS.encoder,
  stopping: 'stopping: finishing the chunks in flight, committing, disconnecting',
  run: runEncoder,
};

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = serviceCommandSpecs(ENCODER_OPTION_SPECS, DEFAULT_OPS_PORTS.encoder);

export const main = (argv: string[]): Promise<number> => runServiceCommand(command, argv);
