/** The `bahe trainer` command: runs the trainer service until SIGINT or SIGTERM. */
import { formatHelp, parseOptions } from '../config/options.js';
import { DEFAULT_OPS_PORTS, opsOptionSpecs } from '../ops/options.js';
import { ServiceOps } from '../ops/service-ops.js';
import { TRAINER_OPTION_SPECS } from '../services/trainer/cli-options.js';
import { runTrainer } from '../services/trainer/run.js';
import { loggerFor, stopOnSignals } from './common.js';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = { ...TRAINER_OPTION_SPECS, ...opsOptionSpecs(DEFAULT_OPS_PORTS.trainer) };

export const summary =
  'Train the upper layers and CTR head from the impression topic in micro-batches; checkpoint and publish model updates.';

/** Exit status: 0 after a signal stopped it cleanly; failures (e.g. the broker gone for good) throw BaheError. */
export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(specs, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe trainer [options]', summary, specs)}\n`);
    return 0;
  }
  const logger = loggerFor(options);
  const ops = await ServiceOps.start(options, { service: 'trainer' }, logger);
  const stop = stopOnSignals(logger, 'stopping: finishing the step in progress, checkpointing, publishing');
  try {
    const stats = await runTrainer(options, logger, stop.signal, ops);
    process.stdout.write(`${JSON.stringify(stats)}\n`);
    return 0;
  } finally {
    await ops.stop();
    stop.dispose();
    logger.flush();
  }
}
