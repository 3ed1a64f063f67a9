#!/usr/bin/env node
/**
 * The `bahe` command line. Each command parses its options once (flags, then environment, then
 * defaults), logs JSON to standard error and prints its result to standard output.
 */
import { formatHelp, parseOptions } from './config/options.js';
import { BaheError } from './errors.js';
import { createLogger, type LogFormat, type Logger } from './log.js';
import { runReplay } from './pipeline/replay-run.js';
import { RUN_OPTION_SPECS } from './pipeline/run-options.js';
import { formatSummary } from './pipeline/summary.js';

const COMMANDS: Record<string, { summary: string; main: (argv: string[]) => Promise<number> }> = {
  run: {
    summary: 'Replay MovieLens-100K through the whole BAHE loop in-process (embedded store, checkpoints).',
    main: runCommand,
  },
};

async function runCommand(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(RUN_OPTION_SPECS, argv);
  if (help) {
    process.stdout.write(
      `${formatHelp('bahe run [options]', COMMANDS.run?.summary ?? '', RUN_OPTION_SPECS)}\n`,
    );
    return 0;
  }
  const logger = createLogger({
    level: options.logLevel,
    ...(options.logFormat === 'auto' ? {} : { format: options.logFormat as LogFormat }),
  });
  const controller = stopOnSignals(logger);
  const summary = await runReplay(options, logger, controller.signal);
  process.stdout.write(`${options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`);
  logger.flush();
  return controller.signal.aborted ? 130 : 0;
}

/** First SIGINT/SIGTERM: finish the current step, checkpoint and exit. Second: exit at once. */
function stopOnSignals(logger: Logger): AbortController {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.error({ signal }, 'second signal; exiting without a final checkpoint');
      process.exit(130);
    }
    logger.warn({ signal }, 'stopping: finishing the current step and writing a checkpoint');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller;
}

function usage(): string {
  const lines = ['Usage: bahe <command> [options]', '', 'Commands:'];
  for (const [name, command] of Object.entries(COMMANDS))
    lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  lines.push('', 'Run `bahe <command> --help` for the options of a command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  return command.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof BaheError) {
      process.stderr.write(`error ${error.code}: ${error.message}\n`);
      if (error.cause instanceof Error) process.stderr.write(`  caused by: ${error.cause.message}\n`);
    } else {
      process.stderr.write(
        `unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exitCode = 1;
  },
);
