/** Where the package's own files are, wherever the command is started from. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: this file is `src/paths.ts`, compiled to `dist/src/paths.js`. */
export const PACKAGE_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(path.dirname(here)) === 'dist'
    ? path.resolve(here, '..', '..')
    : path.resolve(here, '..');
})();

/** The compiled default model that ships with the package. */
export const DEFAULT_MODEL_DIR = path.join(PACKAGE_ROOT, 'model', 'default');

/** The shared dataset folder beside a checkout (`../shared/data`), used when present. */
export const SHARED_DATA_DIR = path.resolve(PACKAGE_ROOT, '..', 'shared', 'data');
