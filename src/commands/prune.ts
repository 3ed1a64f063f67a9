/** The `bahe prune --older-than 30d` command: removes behaviors not seen for a while from the active store. */
import { formatHelp, type OptionSpecs, parseOptions } from '../config/options.js';
import { parseDuration } from '../maintenance/duration.js';
import { openActiveStore, STORE_OPTION_SPECS } from '../store/select.js';
import { LOG_OPTION_SPECS, loggerFor } from './common.js';

export const summary = 'Remove the behaviors of the active encoder version not seen for a given time.';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = {
  olderThan: {
    kind: 'string',
    description: 'Remove behaviors last seen longer ago than this (required): 30d, 12h, 90m, 2w, ...',
  },
  now: {
    kind: 'integer',
    min: 0,
    description: 'Epoch milliseconds the age is measured from. Default: the current time.',
  },
  ...STORE_OPTION_SPECS,
  ...LOG_OPTION_SPECS,
} as const satisfies OptionSpecs;

export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(specs, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe prune --older-than <duration> [options]', summary, specs)}\n`);
    return 0;
  }
  if (options.olderThan === undefined) {
    process.stderr.write('bahe prune needs --older-than <duration>, e.g. --older-than 30d\n');
    return 2;
  }
  const cutoffMs = (options.now ?? Date.now()) - parseDuration(options.olderThan, 'older-than');
  const logger = loggerFor(options);
  try {
    const store = await openActiveStore(options, logger);
    try {
      const removed = await store.prune(cutoffMs);
      const left = await store.count();
      const result = {
        encoderVersion: store.encoderVersion,
        cutoff: new Date(cutoffMs).toISOString(),
        removed,
        left,
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    } finally {
      await store.close();
    }
  } finally {
    logger.flush();
  }
}
