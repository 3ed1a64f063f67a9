import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** `json`: one JSON object per line, for collectors. `pretty`: readable lines for a terminal. */
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  /** Default: `pretty` when standard error is a terminal, `json` otherwise. */
  format?: LogFormat;
  /** Where log lines go; standard error by default so that command output on stdout stays clean. */
  destination?: NodeJS.WritableStream;
}

/** Creates the root logger, secrets redacted wherever they appear. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const destination =
    format === 'pretty'
      ? pretty({
          destination: options.destination ?? 2,
          sync: true,
          ignore: 'pid,hostname,service',
          singleLine: true,
        })
      : (options.destination ?? pino.destination({ fd: 2, sync: false }));
  return pino(
    {
      level,
      base: { service: 'bahe-stream' },
      redact: {
        paths: ['*.password', '*.apiKey', '*.sasl', '*.*.password', '*.*.apiKey'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * A child of `parent` with `bindings`, leaving out those `parent` already carries with the same value:
 * pino writes a key once per binding, so a repeated one would appear twice in each line.
 */
export function childLogger(parent: Logger, bindings: Record<string, unknown>): Logger {
  const inherited = parent.bindings();
  return parent.child(
    Object.fromEntries(Object.entries(bindings).filter(([key, value]) => inherited[key] !== value)),
  );
}
