/** What every `bahe` command shares: log options, the logger they build, and signal handling. */

import type { OptionSpecs } from '../config/options.js';
import type { ExecutionProvider, SessionOptions } from '../encoder/ort-session.js';
import { BaheError, ErrorCode } from '../errors.js';
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

/** How long a command may take to stop after the first signal, unless BAHE_STOP_TIMEOUT_MS says otherwise. */
export const STOP_TIMEOUT_MS = 20_000;

/**
 * First SIGINT/SIGTERM aborts `signal` so the command can finish its unit of work and save state;
 * a second one exits at once with status 130, and so does the command when it has not ended
 * `BAHE_STOP_TIMEOUT_MS` after the first (a broker or store that does not answer can hold a clean
 * stop for minutes; work not committed is read again on the next start). `stopping` says what the
 * first signal will do.
 */
export function stopOnSignals(logger: Logger, stopping: string): StopSignal {
  const timeoutMs = stopTimeoutMs();
  const controller = new AbortController();
  let deadline: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.error({ signal }, 'second signal; exiting at once');
      process.exit(130);
    }
    logger.warn({ signal, stopTimeoutMs: timeoutMs }, stopping);
    deadline = setTimeout(() => {
      logger.error(
        { signal, stopTimeoutMs: timeoutMs },
        'not stopped in time (is the broker or the store unreachable?); exiting; uncommitted work is read again on the next start',
      );
      process.exit(130);
    }, timeoutMs);
    deadline.unref();
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(deadline);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function stopTimeoutMs(): number {
  const raw = process.env.BAHE_STOP_TIMEOUT_MS;
  if (raw === undefined || raw === '') return STOP_TIMEOUT_MS;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `BAHE_STOP_TIMEOUT_MS must be a whole number of milliseconds, at least 1; got ${JSON.stringify(raw)}`,
      { context: { field: 'BAHE_STOP_TIMEOUT_MS' } },
    );
  }
  return value;
}

/** Where the ONNX graphs run; every command that encodes or trains takes these. */
export const RUNTIME_OPTION_SPECS = {
  provider: {
    kind: 'string',
    choices: ['cpu', 'cuda'],
    default: 'cpu',
    description: 'ONNX Runtime execution provider of the encoder and the train step.',
  },
  threads: {
    kind: 'integer',
    min: 0,
    max: 1024,
    default: 0,
    description: 'Threads per graph (0: one per core).',
  },
} as const satisfies OptionSpecs;

/** ONNX Runtime session options from the runtime options. */
export function runtimeSessionOptions(options: { provider: string; threads: number }): SessionOptions {
  return { executionProviders: [options.provider as ExecutionProvider], intraOpThreads: options.threads };
}

/** Something started that runs until stopped or until it fails on its own. */
export interface Service<Stats> {
  start(): Promise<void>;
  stop(): Promise<void>;
  whenEnded(): Promise<void>;
  readonly stats: Stats;
}

/**
 * Starts `service` and runs it until `signal` aborts (then stops it: it drains and saves its work)
 * or until it fails (then rethrows the failure). Returns its final counts.
 */
export async function runUntilStopped<Stats>(service: Service<Stats>, signal: AbortSignal): Promise<Stats> {
  const stopped = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await service.start();
  await Promise.race([stopped, service.whenEnded()]);
  await service.stop();
  await service.whenEnded();
  return service.stats;
}
