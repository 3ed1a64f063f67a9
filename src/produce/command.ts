/** The `bahe produce` command: `main(argv)` parses the options, runs the replay and prints the counts. */
import { formatHelp, parseOptions } from '../config/options.js';
import { createLogger, type LogFormat, type Logger } from '../log.js';
import { PRODUCE_OPTION_SPECS } from './options.js';
import { formatProduceSummary, runProduce } from './run.js';

export const summary =
  'Replay MovieLens-100K or a MIND folder into the behavior and impression topics (Avro, keyed by user).';

/** Exit status: 0 when done, 130 when a signal stopped it early; failures throw BaheError. */
export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(PRODUCE_OPTION_SPECS, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe produce [options]', summary, PRODUCE_OPTION_SPECS)}\n`);
    return 0;
  }
  const logger = createLogger({
    level: options.logLevel,
    ...(options.logFormat === 'auto' ? {} : { format: options.logFormat as LogFormat }),
  });
  const stop = stopOnSignals(logger);
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

/** First SIGINT/SIGTERM: stop reading, send what was read, print the counts. Second: exit at once. */
function stopOnSignals(logger: Logger): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.error({ signal }, 'second signal; exiting before the last batch is acknowledged');
      process.exit(130);
    }
    logger.warn({ signal }, 'stopping: sending what was read, then exiting');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
