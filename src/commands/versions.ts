/** The `bahe versions` command: the encoder versions the store holds, and which one the alias names. */
import { formatHelp, type OptionSpecs, parseOptions } from '../config/options.js';
import { openCatalog, STORE_OPTION_SPECS } from '../store/select.js';
import { LOG_OPTION_SPECS, loggerFor } from './common.js';

export const summary = 'List the encoder versions in the store and which one is active (the alias).';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = {
  ...STORE_OPTION_SPECS,
  ...LOG_OPTION_SPECS,
} as const satisfies OptionSpecs;

export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(specs, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe versions [options]', summary, specs)}\n`);
    return 0;
  }
  const logger = loggerFor(options);
  try {
    const catalog = openCatalog(options, logger);
    const versions = await catalog.versions();
    process.stdout.write(`${JSON.stringify({ store: catalog.location, versions }, null, 2)}\n`);
    return 0;
  } finally {
    logger.flush();
  }
}
