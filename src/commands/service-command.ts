/**
 * What `bahe encoder` and `bahe trainer` share as commands: options with the operations endpoints,
 * `--help`, the endpoints started first, a run until SIGINT or SIGTERM, and the final counts printed.
 */
import { formatHelp, type OptionSpecs, type ParsedOptions, parseOptions } from '../config/options.js';
import type { Logger } from '../log.js';
import { type OpsCliOptions, opsOptionSpecs } from '../ops/options.js';
import { ServiceOps } from '../ops/service-ops.js';
import { loggerFor, stopOnSignals } from './common.js';

export interface ServiceCommand<S extends OptionSpecs> {
  /** The command's name, as in `bahe <name>` and the `service` label of its metrics. */
  name: string;
  summary: string;
  /** The options of the service, without the operations endpoints' (added here). */
  serviceSpecs: S;
  defaultOpsPort: number;
  /** What the first signal makes the service do, for the log. */
  stopping: string;
  run: (
    options: ParsedOptions<S> & OpsCliOptions,
    logger: Logger,
    signal: AbortSignal,
    ops: ServiceOps,
  ) => Promise<unknown>;
}

/** The command's full option specs: the service's and the operations endpoints'. */
export function serviceCommandSpecs<S extends OptionSpecs>(serviceSpecs: S, defaultOpsPort: number) {
  return { ...serviceSpecs, ...opsOptionSpecs(defaultOpsPort) };
}

/** Exit status: 0 after a signal stopped the service cleanly; failures throw BaheError. */
export async function runServiceCommand<S extends OptionSpecs>(
  command: ServiceCommand<S>,
  argv: string[],
): Promise<number> {
  const specs = serviceCommandSpecs(command.serviceSpecs, command.defaultOpsPort);
  const { options, help } = parseOptions(specs, argv);
  if (help) {
    process.stdout.write(`${formatHelp(`bahe ${command.name} [options]`, command.summary, specs)}\n`);
    return 0;
  }
  const parsed = options as unknown as ParsedOptions<S> &
    OpsCliOptions & { logLevel: string; logFormat: string };
  const logger = loggerFor(parsed);
  const ops = await ServiceOps.start(parsed, { service: command.name }, logger);
  const stop = stopOnSignals(logger, command.stopping);
  try {
    const stats = await command.run(parsed, logger, stop.signal, ops);
    process.stdout.write(`${JSON.stringify(stats)}\n`);
    return 0;
  } finally {
    await ops.stop();
    stop.dispose();
    logger.flush();
  }
}
