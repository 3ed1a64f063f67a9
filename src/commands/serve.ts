/** The `bahe serve` command: the scorer (POST /predict) and the ops endpoints until SIGINT or SIGTERM. */
import { formatHelp, parseOptions } from '../config/options.js';
import { ServiceOps } from '../ops/service-ops.js';
import { SERVE_OPTION_SPECS } from '../serve/options.js';
import { runServe } from '../serve/run.js';
import { loggerFor, stopOnSignals } from './common.js';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = SERVE_OPTION_SPECS;

export const summary =
  'Score candidate items for user histories over HTTP (POST /predict) with the latest published model version.';

/** Exit status: 0 after a signal stopped it cleanly; failures (e.g. the port taken) throw BaheError. */
export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(SERVE_OPTION_SPECS, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe serve [options]', summary, SERVE_OPTION_SPECS)}\n`);
    return 0;
  }
  const logger = loggerFor(options);
  const ops = await ServiceOps.start(options, { service: 'serve' }, logger);
  const stop = stopOnSignals(logger, 'stopping: answering the requests in flight, then closing');
  try {
    await runServe(options, logger, stop.signal, ops);
    return 0;
  } finally {
    await ops.stop();
    stop.dispose();
    logger.flush();
  }
}
