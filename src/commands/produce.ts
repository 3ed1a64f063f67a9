/** The `bahe produce` command: `main(argv)` parses the options, runs the replay and prints the counts. */

import { formatHelp, parseOptions } from '../config/options.js';
import { PRODUCE_OPTION_SPECS } from '../produce/options.js';
import { formatProduceSummary, runProduce } from '../produce/run.js';
import { loggerFor, stopOnSignals } from './common.js';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = PRODUCE_OPTION_SPECS;

export const summary =
  'Replay MovieLens-100K or a MIND folder into the behavior and impression topics (Avro, keyed by user).';

/** Exit status: 0 when done, 130 when a signal stopped it early; failures throw BaheError. */
export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(PRODUCE_OPTION_SPECS, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe produce [options]', summary, PRODUCE_OPTION_SPECS)}\n`);
    return 0;
  }
  const logger = loggerFor(options);
  const stop = stopOnSignals(logger, 'stopping: sending what was read, then exiting');
  try {
    const result = await runProduce(options, logger, stop.signal);
    process.stdout.write(
      `${options.json ? JSON.stringify(result, null, 2) : formatProduceSummary(result)}\n`,
    );
    return result.stopped ? 130 : 0;
  } finally {
    stop.dispose();
    logger.flush();
  }
}
