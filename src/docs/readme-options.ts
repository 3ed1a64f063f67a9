/**
 * Keeps the option tables in README.md equal to the option specs: each table sits between
 * `<!-- options:<name> -->` and `<!-- /options -->` and is generated, never edited by hand.
 * `npm run docs` rewrites them; a test fails when README.md is out of date.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMMANDS } from '../commands/index.js';
import { formatOptionsTable, type OptionSpecs } from '../config/options.js';
import { KAFKA_OPTION_SPECS } from '../kafka/cli-options.js';
import { PACKAGE_ROOT } from '../paths.js';

/**
 * The specs without the Kafka connection options, which have their own table, and with defaults
 * inside the package (the default model) shown relative to it, not as this checkout's path.
 */
function forReadme(specs: OptionSpecs): OptionSpecs {
  const packagePrefix = `${PACKAGE_ROOT}${path.sep}`;
  return Object.fromEntries(
    Object.entries(specs)
      .filter(([key]) => !(key in KAFKA_OPTION_SPECS))
      .map(([key, spec]) =>
        typeof spec.default === 'string' && spec.default.startsWith(packagePrefix)
          ? [key, { ...spec, default: `<package>/${spec.default.slice(packagePrefix.length)}` }]
          : [key, spec],
      ),
  );
}

/** `kafka` for the connection options, then one table per command, named as the command. */
export const README_OPTION_TABLES: Record<string, OptionSpecs> = {
  kafka: KAFKA_OPTION_SPECS,
  ...Object.fromEntries(Object.entries(COMMANDS).map(([name, command]) => [name, forReadme(command.specs)])),
};

const BLOCK = /(<!-- options:([a-z-]+) -->\n)[\s\S]*?(<!-- \/options -->)/g;

/** `readme` with every option table regenerated; an unknown table name is an error. */
export function renderOptionTables(readme: string): string {
  return readme.replace(BLOCK, (_whole, open: string, name: string, close: string) => {
    const specs = README_OPTION_TABLES[name];
    if (specs === undefined) {
      throw new Error(
        `README names option table "${name}"; known: ${Object.keys(README_OPTION_TABLES).join(', ')}`,
      );
    }
    return `${open}${formatOptionsTable(specs)}\n${close}`;
  });
}

export const README_PATH = path.join(PACKAGE_ROOT, 'README.md');

async function main(): Promise<void> {
  const readme = await readFile(README_PATH, 'utf8');
  const rendered = renderOptionTables(readme);
  if (rendered !== readme) await writeFile(README_PATH, rendered);
  process.stdout.write(
    rendered === readme ? 'README.md option tables are up to date\n' : 'README.md option tables rewritten\n',
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}
