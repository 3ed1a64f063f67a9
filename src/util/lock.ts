import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

interface LockOwner {
  pid: number;
  host: string;
  acquiredAt: string;
  /** Tells this process from an earlier one with the same pid, as in containers, where it is often 1. */
  process?: string;
}

/** Drawn once per process. */
const PROCESS_TOKEN = randomBytes(8).toString('hex');

/** What a lock guards, for its messages: the embedded store by default. */
export interface LockSubject {
  /** e.g. "store" or "state folder". */
  what: string;
  code: ErrorCode;
  /** What a user can do when it is held, besides stopping the holder. */
  alternative: string;
}

const STORE_SUBJECT: LockSubject = {
  what: 'store',
  code: ErrorCode.STORE_FAILED,
  alternative: 'open the store read-only',
};

/** An exclusive lock held through a file; `release` removes the file. */
export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Takes the lock file at `path` for this process. The holder's pid is written to a temporary file
 * that is then hard-linked into place, so a lock file is never seen half written. A lock left by a
 * process that no longer runs on this host is taken over with a warning.
 *
 * Limitation: a lock held from another host (shared network folder) cannot be checked and always
 * counts as held, a recycled pid makes a stale lock look held (the error says how to clear it), and
 * two processes taking over the same stale lock at the same instant can both succeed.
 */
export async function acquireLock(
  path: string,
  logger: Logger,
  subject: LockSubject = STORE_SUBJECT,
): Promise<FileLock> {
  const taken = await takeLock(path, logger, subject);
  if ('release' in taken) return taken;
  throw heldError(path, taken.holder, subject);
}

/** Like `acquireLock`, but a lock held by a live process gives `undefined` instead of an error. */
export async function tryAcquireLock(
  path: string,
  logger: Logger,
  subject: LockSubject = STORE_SUBJECT,
): Promise<FileLock | undefined> {
  const taken = await takeLock(path, logger, subject);
  return 'release' in taken ? taken : undefined;
}

async function takeLock(
  path: string,
  logger: Logger,
  subject: LockSubject,
): Promise<FileLock | { holder: LockOwner | 'unreadable' }> {
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    acquiredAt: new Date().toISOString(),
    process: PROCESS_TOKEN,
  };
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temp, `${JSON.stringify(owner)}\n`, { flag: 'wx' });

  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await link(temp, path);
        return { path, release: () => unlink(path).catch(ignoreMissing) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }

      const holder = await readOwner(path);
      if (holder === 'gone') continue;
      if (attempt === 0 && holder !== 'unreadable' && holder.host === owner.host && !holderRuns(holder)) {
        logger.warn({ lockFile: path, holderPid: holder.pid }, `removing stale ${subject.what} lock`);
        await unlink(path).catch(ignoreMissing);
        continue;
      }
      return { holder };
    }
  } finally {
    await unlink(temp).catch(ignoreMissing);
  }
}

async function readOwner(path: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as LockOwner;
    return Number.isInteger(parsed.pid) && typeof parsed.host === 'string' ? parsed : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/**
 * Whether the lock's holder still runs on this host. A holder with this process's own pid but another
 * token was an earlier process: a container restarted with the same hostname and pid, say.
 */
function holderRuns(holder: LockOwner): boolean {
  if (holder.pid === process.pid) return holder.process === undefined || holder.process === PROCESS_TOKEN;
  return isRunning(holder.pid);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function heldError(path: string, holder: LockOwner | 'unreadable', subject: LockSubject): BaheError {
  const who =
    holder === 'unreadable'
      ? 'an unknown process (the lock file cannot be read)'
      : `pid ${holder.pid} on host ${holder.host} (since ${holder.acquiredAt})`;
  return new BaheError(
    subject.code,
    `${subject.what} is already open for writing by ${who}; stop that process or ${subject.alternative}. ` +
      `If no process uses the ${subject.what}, delete the lock file ${path}`,
    {
      retryable: true,
      context: { path, holderPid: holder === 'unreadable' ? undefined : holder.pid },
    },
  );
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
