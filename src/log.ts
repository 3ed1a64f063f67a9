import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Where log lines go; standard error by default so that command output on stdout stays clean. */
  destination?: NodeJS.WritableStream;
}

/** Creates the root logger: one JSON object per line, secrets redacted wherever they appear. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.BAHE_LOG_LEVEL ?? 'info';
  const destination = options.destination ?? pino.destination({ fd: 2, sync: false });
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
