/** What every `bahe` command shares: log options, the logger they build, and signal handling. */
import type { OptionSpecs } from '../config/options.js';
import { createLogger, type LogFormat, type Logger } from '../log.js';

export const LOG_OPTION_SPECS = {
  logLevel: {
    kind: 'string',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    description: 'Log level of the log on standard error.',
  },
  logFormat: {
    kind: 'string',
    choices: ['auto', 'json', 'pretty'],
    default: 'auto',
    description: 'Log lines as JSON or readable text; auto picks text when standard error is a terminal.',
  },
} as const satisfies OptionSpecs;

export function loggerFor(options: { logLevel: string; logFormat: string }): Logger {
  return createLogger({
    level: options.logLevel,
    ...(options.logFormat === 'auto' ? {} : { format: options.logFormat as LogFormat }),
  });
}

export interface StopSignal {
  signal: AbortSignal;
  /** Removes the handlers, so a finished command leaves the process as it found it. */
  dispose: () => void;
}

/**
 * First SIGINT/SIGTERM aborts `signal` so the command can finish its unit of work and save state;
 * a second one exits at once with status 130. `stopping` says what the first one will do.
 */
export function stopOnSignals(logger: Logger, stopping: string): StopSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.error({ signal }, 'second signal; exiting at once');
      process.exit(130);
    }
    logger.warn({ signal }, stopping);
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
