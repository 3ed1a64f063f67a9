#!/usr/bin/env node
/**
 * The `bahe` command line. Each command parses its options once (flags, then environment, then
 * defaults), logs to standard error and prints its result to standard output.
 */
import { COMMANDS } from './commands/index.js';
import { BaheError } from './errors.js';

function usage(): string {
  const lines = ['Usage: bahe <command> [options]', '', 'Commands:'];
  for (const [name, command] of Object.entries(COMMANDS))
    lines.push(`  ${name.padEnd(12)} ${command.summary}`);
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

/**
 * How long a finished command may wait for the event loop to empty before it exits anyway. Every
 * command closes what it opened, but kafkajs can keep a broker connection it re-opened during an
 * outage after its client was disconnected, and the Qdrant client keeps idle connections for 10 s.
 */
const EXIT_GRACE_MS = 2_000;

function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

main(process.argv.slice(2)).then(finish, (error: unknown) => {
  process.stderr.write(`${describeFailure(error)}\n`);
  finish(1);
});

/** One or two lines for a person: the project's errors and the system's (files, permissions) without a stack. */
function describeFailure(error: unknown): string {
  if (error instanceof BaheError) {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    const lines = [`error ${error.code}: ${error.message}`];
    if (cause !== undefined && !error.message.includes(cause)) lines.push(`  caused by: ${cause}`);
    return lines.join('\n');
  }
  const system = error as NodeJS.ErrnoException;
  if (system instanceof Error && typeof system.code === 'string' && typeof system.syscall === 'string') {
    return `error: ${system.message}; check the path and its permissions`;
  }
  return `unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}
