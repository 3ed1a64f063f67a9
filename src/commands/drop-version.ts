/** The `bahe drop-version <encoder version>` command: deletes an encoder version that is no longer active. */
import { formatHelp, parseOptions } from '../config/options.js';
import { openCatalog } from '../store/select.js';
import { loggerFor } from './common.js';
import { specs as versionsSpecs } from './versions.js';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = versionsSpecs;

export const summary = 'Delete the folder or collection of an encoder version that is not the active one.';

export async function main(argv: string[]): Promise<number> {
  const { options, help, positionals } = parseOptions(specs, argv, process.env, {
    allowPositionals: true,
  });
  if (help) {
    process.stdout.write(`${formatHelp('bahe drop-version <encoder version> [options]', summary, specs)}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write('bahe drop-version takes one encoder version; bahe versions lists them\n');
    return 2;
  }
  const logger = loggerFor(options);
  try {
    const encoderVersion = positionals[0] as string;
    const catalog = openCatalog(options, logger);
    await catalog.drop(encoderVersion);
    logger.info({ encoderVersion, store: catalog.location }, 'encoder version dropped');
    process.stdout.write(`${JSON.stringify({ dropped: encoderVersion, store: catalog.location })}\n`);
    return 0;
  } finally {
    logger.flush();
  }
}
