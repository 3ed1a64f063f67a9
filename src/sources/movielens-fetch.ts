import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { MOVIELENS_FILES } from './movielens-files.js';
import { listZipEntries, readZipEntry } from './zip.js';

/** Where GroupLens publishes MovieLens-100K. */
export const MOVIELENS_100K_URL = 'https://files.grouplens.org/datasets/movielens/ml-100k.zip';

/**
 * MD5 of ml-100k.zip as GroupLens publishes it (`ml-100k.zip.md5` next to the archive), the same value in
 * several independent projects that verify the download. Its SHA-256 could not be obtained here (the
 * publisher is unreachable from where this was written), so none is pinned: set `checksums.sha256` or
 * `BAHE_ML100K_SHA256` to require one as well; the log line after each download gives the value to pin.
 */
export const MOVIELENS_100K_MD5 = '0e33842e24a9c977be4e0107933c0723';

/** Hashes an archive must match; every one given is checked and at least one must be given. */
export interface ArchiveChecksums {
  sha256?: string;
  md5?: string;
}

export const MOVIELENS_FETCH_DEFAULTS = Object.freeze({
  url: MOVIELENS_100K_URL,
  timeoutMs: 120_000,
});

export interface FetchMovieLensOptions {
  /** Folder for the archive and the extracted files; `$XDG_CACHE_HOME/bahe-stream` or `~/.cache/bahe-stream`. */
  cacheDir?: string;
  url?: string;
  /** Replaces the default `{ md5: MOVIELENS_100K_MD5, sha256: $BAHE_ML100K_SHA256 }` as a whole. */
  checksums?: ArchiveChecksums;
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * Makes sure a verified ml-100k.zip is in the cache (downloading it when absent) and extracts `u.data` and
 * `u.item` from it; returns the folder that holds them. An archive that fails a checksum is never used.
 */
export async function fetchMovieLens100k(options: FetchMovieLensOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const url = options.url ?? MOVIELENS_FETCH_DEFAULTS.url;
  const timeoutMs = checkTimeout(options.timeoutMs ?? MOVIELENS_FETCH_DEFAULTS.timeoutMs);
  const checksums = checkChecksums(options.checksums ?? defaultChecksums());
  const log = (options.logger ?? silentLogger()).child({ dataset: 'movielens-100k', cacheDir });

  await mkdir(cacheDir, { recursive: true });
  const archivePath = path.join(cacheDir, 'ml-100k.zip');
  let archive: Buffer | undefined = await readFile(archivePath).catch(() => undefined);
  if (archive === undefined) {
    log.info({ url }, 'downloading dataset archive');
    archive = await download(url, timeoutMs);
    verifyArchive(archive, checksums, url);
    await writeAtomically(archivePath, archive);
  } else {
    verifyArchive(archive, checksums, archivePath);
  }
  log.info({ bytes: archive.length, sha256: sha256Hex(archive) }, 'dataset archive verified');
  return extractMovieLensFiles(archive, path.join(cacheDir, 'ml-100k'), archivePath);
}

/** Verifies a downloaded ml-100k.zip and extracts `u.data` and `u.item` into `destDir`; returns `destDir`. */
export async function extractMovieLensArchive(
  archivePath: string,
  destDir: string,
  checksums: ArchiveChecksums,
): Promise<string> {
  const archive = await readFile(archivePath).catch((cause) => {
    throw new BaheError(ErrorCode.DATASET_INVALID, `cannot read archive ${archivePath}`, {
      cause,
      context: { path: archivePath },
    });
  });
  verifyArchive(archive, checkChecksums(checksums), archivePath);
  return extractMovieLensFiles(archive, destDir, archivePath);
}

/** Throws `BAHE_DATASET_INVALID` unless `archive` matches every given checksum. */
export function verifyArchive(archive: Buffer, checksums: ArchiveChecksums, where: string): void {
  for (const algorithm of ['sha256', 'md5'] as const) {
    const expected = checksums[algorithm];
    if (expected === undefined) continue;
    const actual = createHash(algorithm).update(archive).digest('hex');
    if (actual !== expected.toLowerCase()) {
      throw new BaheError(
        ErrorCode.DATASET_INVALID,
        `archive ${where} has ${algorithm} ${actual}, expected ${expected}; it is damaged or not the published ` +
          'ml-100k.zip: delete it and download again, or fix the expected checksum',
        { context: { path: where, algorithm, actual, expected } },
      );
    }
  }
}

async function extractMovieLensFiles(archive: Buffer, destDir: string, where: string): Promise<string> {
  let entries: ReturnType<typeof listZipEntries>;
  try {
    entries = listZipEntries(archive);
  } catch (cause) {
    throw new BaheError(
      ErrorCode.DATASET_INVALID,
      `${where} is not a readable zip archive: ${String(cause)}`,
      {
        cause,
        context: { path: where },
      },
    );
  }

  await mkdir(destDir, { recursive: true });
  for (const name of MOVIELENS_FILES) {
    const entry = entries.find((e) => e.name === name || e.name.endsWith(`/${name}`));
    if (!entry) {
      throw new BaheError(
        ErrorCode.DATASET_INVALID,
        `${where} has no ${name}; it is not the MovieLens-100K archive`,
        {
          context: { path: where },
        },
      );
    }
    let data: Buffer;
    try {
      data = readZipEntry(archive, entry);
    } catch (cause) {
      throw new BaheError(ErrorCode.DATASET_INVALID, `${where}: ${String(cause)}`, {
        cause,
        context: { path: where },
      });
    }
    await writeAtomically(path.join(destDir, name), data);
  }
  return destDir;
}

async function download(url: string, timeoutMs: number): Promise<Buffer> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    return Buffer.from(await response.arrayBuffer());
  } catch (cause) {
    throw new BaheError(
      ErrorCode.DATASET_FETCH_FAILED,
      `download of ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}; check the network, ` +
        'or download the archive by hand and pass its extracted folder',
      { cause, retryable: true, context: { url } },
    );
  }
}

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const partial = `${file}.${process.pid}.part`;
  try {
    await writeFile(partial, data);
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
}

function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'bahe-stream');
}

function defaultChecksums(): ArchiveChecksums {
  const sha256 = process.env.BAHE_ML100K_SHA256;
  return sha256 ? { md5: MOVIELENS_100K_MD5, sha256 } : { md5: MOVIELENS_100K_MD5 };
}

function checkChecksums(checksums: ArchiveChecksums): ArchiveChecksums {
  const { sha256, md5 } = checksums;
  if (sha256 === undefined && md5 === undefined) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      'checksums needs sha256 or md5: an unverified archive is never used',
      {
        context: { field: 'checksums' },
      },
    );
  }
  if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `checksums.sha256 must be 64 hex digits, got ${JSON.stringify(sha256)}`,
      {
        context: { field: 'checksums.sha256' },
      },
    );
  }
  if (md5 !== undefined && !/^[0-9a-fA-F]{32}$/.test(md5)) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `checksums.md5 must be 32 hex digits, got ${JSON.stringify(md5)}`,
      {
        context: { field: 'checksums.md5' },
      },
    );
  }
  return checksums;
}

function checkTimeout(timeoutMs: number): number {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `timeoutMs must be an integer in [1, 3600000], got ${timeoutMs}`,
      {
        context: { field: 'timeoutMs' },
      },
    );
  }
  return timeoutMs;
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
