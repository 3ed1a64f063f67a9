/** The `bahe run` command: the whole BAHE loop in-process on the embedded defaults. */
import { formatHelp, parseOptions } from '../config/options.js';
import { runReplay } from '../pipeline/replay-run.js';
import { RUN_OPTION_SPECS } from '../pipeline/run-options.js';
import { formatSummary } from '../pipeline/summary.js';
import { loggerFor, stopOnSignals } from './common.js';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = RUN_OPTION_SPECS;

export const summary =
  'Replay MovieLens-100K through the whole BAHE loop in-process (embedded store, checkpoints).';

/** Exit status: 0 when done, 130 when a signal stopped it early; failures throw BaheError. */
export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(RUN_OPTION_SPECS, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe run [options]', summary, RUN_OPTION_SPECS)}\n`);
    return 0;
  }
  const logger = loggerFor(options);
  const stop = stopOnSignals(logger, 'stopping: finishing the current step and writing a checkpoint');
  try {
    const result = await runReplay(options, logger, stop.signal);
    process.stdout.write(`${options.json ? JSON.stringify(result, null, 2) : formatSummary(result)}\n`);
    return stop.signal.aborted ? 130 : 0;
  } finally {
    stop.dispose();
    logger.flush();
  }
}
