import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file's place in `dist/test/helpers/` or `test/helpers/`. */
export const repoRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the test helpers');
    dir = parent;
  }
  return dir;
})();

/** The folder with the licensed datasets; never committed. `BAHE_SHARED_DATA` overrides it. */
export function sharedDataDir(): string {
  return process.env.BAHE_SHARED_DATA ?? path.resolve(repoRoot, '..', 'shared', 'data');
}

/**
 * The folder of one dataset, or a skip reason for `test(..., { skip })` when it is not there.
 */
export function datasetDir(name: 'movielens-100k' | 'mind-small-sample'): {
  dir: string;
  skip: string | false;
} {
  const dir = path.join(sharedDataDir(), name);
  const skip = existsSync(dir)
    ? false
    : `dataset ${name} not found at ${dir}; set BAHE_SHARED_DATA to the folder that holds it`;
  return { dir, skip };
}

/** Path of the committed default model. */
export const defaultModelDir = path.join(repoRoot, 'model', 'default');

/** Makes a fresh temporary directory and returns it with a function that removes it. */
export async function tempDir(prefix = 'bahe-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
