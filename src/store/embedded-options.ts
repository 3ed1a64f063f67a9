import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { checkBinding } from './validate.js';

export interface EmbeddedStoreOptions {
  /** Root folder; the store lives in `<dir>/<encoderVersion>/`. */
  dir: string;
  encoderVersion: string;
  dimension: number;
  /** Opens without the lock and refuses writes, e.g. for `bahe similar` beside a running service. */
  readOnly?: boolean;
  /** Compaction waits until at least this many bytes of the log are superseded or deleted. */
  compactMinDeadBytes?: number;
  /** Compaction runs when superseded bytes exceed this share of the log, in (0, 1). */
  compactDeadRatio?: number;
  logger?: Logger;
}

export const EMBEDDED_STORE_DEFAULTS = {
  readOnly: false,
  compactMinDeadBytes: 4 * 1024 * 1024,
  compactDeadRatio: 0.5,
};

export type CheckedEmbeddedStoreOptions = Required<Omit<EmbeddedStoreOptions, 'logger'>>;

/** Merges the defaults under `options` and checks every field; fails with `BAHE_CONFIG_INVALID`. */
export function checkOptions(options: EmbeddedStoreOptions): CheckedEmbeddedStoreOptions {
  checkBinding(options);
  if (typeof options.dir !== 'string' || options.dir.length === 0) {
    throw new BaheError(ErrorCode.CONFIG_INVALID, 'store dir must be a non-empty path', {
      context: { field: 'dir' },
    });
  }
  const merged = {
    dir: options.dir,
    encoderVersion: options.encoderVersion,
    dimension: options.dimension,
    readOnly: options.readOnly ?? EMBEDDED_STORE_DEFAULTS.readOnly,
    compactMinDeadBytes: options.compactMinDeadBytes ?? EMBEDDED_STORE_DEFAULTS.compactMinDeadBytes,
    compactDeadRatio: options.compactDeadRatio ?? EMBEDDED_STORE_DEFAULTS.compactDeadRatio,
  };
  if (!Number.isSafeInteger(merged.compactMinDeadBytes) || merged.compactMinDeadBytes < 0) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `compactMinDeadBytes must be an integer >= 0; got ${merged.compactMinDeadBytes}`,
      { context: { field: 'compactMinDeadBytes' } },
    );
  }
  if (!(merged.compactDeadRatio > 0 && merged.compactDeadRatio < 1)) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `compactDeadRatio must be in (0, 1); got ${merged.compactDeadRatio}`,
      { context: { field: 'compactDeadRatio' } },
    );
  }
  return merged;
}
