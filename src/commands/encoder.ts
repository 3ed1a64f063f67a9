/** The `bahe encoder` command: runs one encoder service instance until SIGINT or SIGTERM. */
import { formatHelp, parseOptions } from '../config/options.js';
import { DEFAULT_OPS_PORTS, opsOptionSpecs } from '../ops/options.js';
import { ServiceOps } from '../ops/service-ops.js';
import { ENCODER_OPTION_SPECS } from '../services/encoder/cli-options.js';
import { runEncoder } from '../services/encoder/run.js';
import { loggerFor, stopOnSignals } from './common.js';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = { ...ENCODER_OPTION_SPECS, ...opsOptionSpecs(DEFAULT_OPS_PORTS.encoder) };

export const summary =
  'Encode new behaviors from the behavior and impression topics into the store, as a consumer group member.';

/** Exit status: 0 after a signal stopped it cleanly; failures (e.g. the broker gone for good) throw BaheError. */
export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(specs, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe encoder [options]', summary, specs)}\n`);
    return 0;
  }
  const logger = loggerFor(options);
  const ops = await ServiceOps.start(options, { service: 'encoder' }, logger);
  const stop = stopOnSignals(logger, 'stopping: finishing the chunks in flight, committing, disconnecting');
  try {
    const stats = await runEncoder(options, logger, stop.signal, ops);
    process.stdout.write(`${JSON.stringify(stats)}\n`);
    return 0;
  } finally {
    await ops.stop();
    stop.dispose();
    logger.flush();
  }
}
