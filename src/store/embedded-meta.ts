import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';
import { writeFileAtomic } from '../util/durable.js';
import type { StoreBinding } from './types.js';

export const META_FILE = 'store.json';
/** The first writer's log; later writers of the same folder append to `records.<n>.log`. */
export const LOG_FILE = 'records.log';
/** Writers beyond this many at once are refused: each one holds its own log. */
export const MAX_WRITERS = 64;

/** The log file of writer slot `slot` (0 is the log of a store that only ever had one writer). */
export function segmentFile(slot: number): string {
  return slot === 0 ? LOG_FILE : `records.${slot}.log`;
}

/** The lock file that makes a process the one writer of slot `slot`. */
export function segmentLock(slot: number): string {
  return slot === 0 ? 'LOCK' : `LOCK.${slot}`;
}

/** The compaction output of slot `slot`, renamed over its log once complete; one left behind is discarded. */
export function compactFile(slot: number): string {
  return `${segmentFile(slot)}.compact`;
}

/** The writer slot whose log is the file `name`, or undefined for any other file. */
export function slotOfFile(name: string): number | undefined {
  if (name === LOG_FILE) return 0;
  const match = /^records\.([1-9][0-9]*)\.log$/.exec(name);
  if (match === null) return undefined;
  const slot = Number(match[1]);
  return slot < MAX_WRITERS ? slot : undefined;
}

const FORMAT = 'bahe-embedded-store';
const FORMAT_VERSION = 1;

interface StoreMeta {
  format: string;
  formatVersion: number;
  encoderVersion: string;
  dimension: number;
  createdAt: string;
}

/**
 * Checks the store folder's `store.json` against the binding the caller asked for, writing it first
 * when the folder is new and `create` is set.
 */
export async function checkOrCreateMeta(
  folder: string,
  binding: StoreBinding,
  create: boolean,
): Promise<void> {
  const file = path.join(folder, META_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await createMeta(folder, binding, create);
    return;
  }

  let meta: StoreMeta;
  try {
    meta = JSON.parse(text) as StoreMeta;
  } catch (cause) {
    throw new BaheError(ErrorCode.STORE_FAILED, `store description ${file} is not valid JSON; restore it`, {
      cause,
      context: { path: file },
    });
  }
  if (meta.format !== FORMAT || meta.formatVersion !== FORMAT_VERSION) {
    throw new BaheError(
      ErrorCode.STORE_MISMATCH,
      `${file} describes ${meta.format} format ${meta.formatVersion}, not ${FORMAT} format ` +
        `${FORMAT_VERSION}; point the store at another folder`,
      { context: { path: file } },
    );
  }
  if (meta.encoderVersion !== binding.encoderVersion || meta.dimension !== binding.dimension) {
    throw new BaheError(
      ErrorCode.STORE_MISMATCH,
      `store ${folder} holds ${meta.dimension}-value vectors of encoder version ${meta.encoderVersion}, ` +
        `but ${binding.dimension}-value vectors of encoder version ${binding.encoderVersion} were asked ` +
        'for; check that the model matches the store, or use another store dir (a new encoder is ' +
        'backfilled into a new store, never mixed into an old one)',
      {
        context: {
          path: folder,
          storedDimension: meta.dimension,
          dimension: binding.dimension,
          storedEncoderVersion: meta.encoderVersion,
        },
      },
    );
  }
}

async function createMeta(folder: string, binding: StoreBinding, create: boolean): Promise<void> {
  if (!create) {
    throw new BaheError(
      ErrorCode.STORE_FAILED,
      `no embedded store at ${folder}; open it for writing once to create it, or check the store dir`,
      { context: { path: folder } },
    );
  }
  const log = path.join(folder, LOG_FILE);
  const logBytes = await stat(log).then(
    (s) => s.size,
    () => 0,
  );
  if (logBytes > 0) {
    throw new BaheError(
      ErrorCode.STORE_FAILED,
      `store log ${log} exists but ${META_FILE} beside it is missing, so its dimension is unknown; ` +
        'restore the file or delete the folder and backfill',
      { context: { path: log } },
    );
  }

  const meta: StoreMeta = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    encoderVersion: binding.encoderVersion,
    dimension: binding.dimension,
    createdAt: new Date().toISOString(),
  };
  await writeFileAtomic(path.join(folder, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
}
