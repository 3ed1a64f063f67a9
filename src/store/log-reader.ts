import { type FileHandle, open } from 'node:fs/promises';
import { BaheError, ErrorCode } from '../errors.js';
import { checkHeader, decodeEntry, HEADER_BYTES, type LogEntry, RECORD_MAGIC } from './log-format.js';

const CHUNK_BYTES = 8 * 1024 * 1024;
/** Read size when checking a candidate record while looking past a bad one. */
const PROBE_BYTES = 64 * 1024;

export interface LogReadResult {
  /** Bytes from the start of the file that hold valid records. */
  validBytes: number;
  fileBytes: number;
  /** The file's inode: a log replaced by compaction has a new one. 0 when the file does not exist. */
  ino: number;
  /** Set when the bytes after `validBytes` hold no valid record: a write cut short by a crash. */
  tornTail?: { offset: number; reason: string };
}

/** Where an earlier read of the same log stopped: reading goes on from there if the file is the same. */
export interface LogResume {
  ino: number;
  offset: number;
}

/**
 * Replays every valid record of the log at `path` into `onEntry`; with `resume`, only the records
 * after its offset, unless the file was replaced since (another inode, or shorter), which replays it
 * all again. A bad record with no valid record after it is a torn tail (or a record still being
 * written) and is reported, not thrown; a bad record followed by valid ones is corruption in the
 * middle and fails with `BAHE_STORE_FAILED` naming the file and byte offset.
 */
export async function readLog(
  path: string,
  dimension: number,
  onEntry: (entry: LogEntry, recordBytes: number) => void,
  resume?: LogResume,
): Promise<LogReadResult> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { validBytes: 0, fileBytes: 0, ino: 0 };
    throw error;
  }

  try {
    const { size, ino } = await handle.stat();
    const resumes = resume !== undefined && resume.ino === ino && resume.offset <= size;
    const window = new ReadWindow(handle, size);
    let offset = resumes ? resume.offset : 0;
    while (offset < size) {
      const problem = await readOne(window, offset, dimension, onEntry);
      if (typeof problem === 'number') {
        offset += problem;
        continue;
      }

      const next = await findValidRecord(handle, offset + 1, size, dimension);
      if (next === undefined) {
        return { validBytes: offset, fileBytes: size, ino, tornTail: { offset, reason: problem } };
      }
      throw new BaheError(
        ErrorCode.STORE_FAILED,
        `store log ${path} is corrupt at byte offset ${offset} (${problem}) and holds valid records ` +
          `after it (from byte ${next}); restore the store folder from a backup, or delete it and ` +
          'backfill the behaviors again',
        { context: { path, offset: String(offset) } },
      );
    }
    return { validBytes: size, fileBytes: size, ino };
  } finally {
    await handle.close();
  }
}

/** Reads and applies the record at `offset`; returns its length, or why it is not a valid record. */
async function readOne(
  window: ReadWindow,
  offset: number,
  dimension: number,
  onEntry: (entry: LogEntry, recordBytes: number) => void,
): Promise<number | string> {
  const header = checkHeader(await window.bytes(offset, HEADER_BYTES));
  if (!header.ok) return header.reason;
  if (offset + header.totalBytes > window.size) return 'record runs past the end of the file';

  const entry = decodeEntry(await window.bytes(offset, header.totalBytes), dimension);
  if (typeof entry === 'string') return entry;
  onEntry(entry, header.totalBytes);
  return header.totalBytes;
}

/** The first offset at or after `from` where a whole valid record starts, if any. */
async function findValidRecord(
  handle: FileHandle,
  from: number,
  size: number,
  dimension: number,
): Promise<number | undefined> {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(RECORD_MAGIC, 0);
  const window = new ReadWindow(handle, size);
  const probe = new ReadWindow(handle, size, PROBE_BYTES);

  for (let start = from; start < size; start += CHUNK_BYTES) {
    const chunk = await window.bytes(start, Math.min(CHUNK_BYTES + 3, size - start));
    for (let hit = chunk.indexOf(magic); hit !== -1; hit = chunk.indexOf(magic, hit + 1)) {
      if (hit >= CHUNK_BYTES) break;
      const candidate = start + hit;
      const valid = await readOne(probe, candidate, dimension, () => {});
      if (typeof valid === 'number') return candidate;
    }
  }
  return undefined;
}

/** Buffered positional reads over a file, so records are not read with one system call each. */
class ReadWindow {
  #buffer = Buffer.alloc(0);
  #start = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {}

  /** Bytes [offset, offset + length), fewer at the end of the file. */
  async bytes(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.size);
    if (offset >= this.#start && end <= this.#start + this.#buffer.length) {
      return this.#buffer.subarray(offset - this.#start, end - this.#start);
    }

    const readBytes = Math.min(Math.max(length, this.chunkBytes), this.size - offset);
    const buffer = Buffer.allocUnsafe(readBytes);
    let filled = 0;
    while (filled < readBytes) {
      const { bytesRead } = await this.handle.read(buffer, filled, readBytes - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.#buffer = buffer.subarray(0, filled);
    this.#start = offset;
    return this.#buffer.subarray(0, end - offset);
  }
}
