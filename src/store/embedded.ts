import { type FileHandle, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';
import { childLogger, type Logger, silentLogger } from '../log.js';
import { fsyncDir, writeAll } from '../util/durable.js';
import { type FileLock, tryAcquireLock } from '../util/lock.js';
import {
  checkOrCreateMeta,
  compactFile,
  MAX_WRITERS,
  segmentFile,
  segmentLock,
  slotOfFile,
} from './embedded-meta.js';
import {
  type CheckedEmbeddedStoreOptions,
  checkOptions,
  type EmbeddedStoreOptions,
} from './embedded-options.js';
import { encodeEntry, type LogEntry, RecordKind } from './log-format.js';
import { type LogResume, readLog } from './log-reader.js';
import { dot, norm, TopK } from './top-k.js';
import type {
  BehaviorObservation,
  BehaviorRecord,
  BehaviorStore,
  NearestFilter,
  ScoredRecord,
} from './types.js';
import { checkObservation, checkPositiveInteger, checkRecord } from './validate.js';

export { EMBEDDED_STORE_DEFAULTS, type EmbeddedStoreOptions } from './embedded-options.js';

/** Records per delete entry in the log, so one prune does not make one huge JSON payload. */
const IDS_PER_DELETE = 10_000;
/** Bytes gathered before one write while compacting. */
const COMPACT_WRITE_BYTES = 4 * 1024 * 1024;

interface Entry {
  record: BehaviorRecord;
  norm: number;
  /** Log bytes of the put and the latest touch that still describe this record. */
  putBytes: number;
  touchBytes: number;
}

export interface EmbeddedStoreStats {
  records: number;
  /** Bytes of this writer's own log. */
  fileBytes: number;
  /** Own log bytes superseded by later records or deleted; compaction reclaims them. */
  deadBytes: number;
  /** Logs of other writers of the folder that this store follows. */
  otherLogs: number;
}

/**
 * A behavior store in one folder per encoder version: append-only, checksummed logs replayed into
 * memory on open. Every record and vector is held in memory, and `nearest` is a brute-force scan, so
 * it suits one machine and CI up to a few million behaviors; larger stores belong in Qdrant.
 *
 * Several processes on one machine may open the same folder (two encoder instances and a trainer,
 * say). Each writer takes a free slot, with its own lock and its own log, so no write waits on
 * another process, and every read first follows what the other writers appended since. Two writers
 * may put the same behavior: the encoder is deterministic, so both puts hold the same vector. A
 * writer that opens while no other writer is open merges the logs of earlier writers into its own,
 * and a writer compacts only while it is the folder's one log.
 */
export class EmbeddedStore implements BehaviorStore {
  readonly encoderVersion: string;
  readonly dimension: number;
  /** The folder holding this encoder version's files. */
  readonly folder: string;
  readonly #options: CheckedEmbeddedStoreOptions;
  readonly #logger: Logger;
  /** This writer's own log; empty for a read-only store. */
  #logPath = '';
  #slot: number | undefined;

  #entries = new Map<string, Entry>();
  /** The other writers' logs, by file name, and how far they have been read. */
  #others = new Map<string, LogResume>();
  #following: Promise<void> | undefined;
  #isOpen = false;
  #handle: FileHandle | undefined;
  #lock: FileLock | undefined;
  #fileBytes = 0;
  #liveBytes = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** Set when a failed write left the log in a state this process cannot vouch for. */
  #broken: Error | undefined;

  constructor(options: EmbeddedStoreOptions) {
    this.#options = checkOptions(options);
    this.encoderVersion = options.encoderVersion;
    this.dimension = options.dimension;
    this.folder = path.join(options.dir, options.encoderVersion);
    this.#logger = childLogger(options.logger ?? silentLogger(), {
      store: 'embedded',
      encoderVersion: this.encoderVersion,
      path: this.folder,
    });
  }

  async open(): Promise<void> {
    if (this.#isOpen) {
      throw storeError('store is already open; close it before opening it again', this.folder);
    }
    const { readOnly } = this.#options;
    try {
      if (!readOnly) {
        await mkdir(this.folder, { recursive: true });
        await this.#claimSlot();
      }
      await checkOrCreateMeta(this.folder, this, !readOnly);
      if (this.#slot !== undefined)
        await rm(path.join(this.folder, compactFile(this.#slot)), { force: true });
      await this.#load();
      if (!readOnly) this.#handle = await open(this.#logPath, 'a');
    } catch (error) {
      await this.#release();
      throw error;
    }

    this.#isOpen = true;
    this.#broken = undefined;
    this.#logger.info(
      {
        records: this.#entries.size,
        fileBytes: this.#fileBytes,
        readOnly,
        slot: this.#slot,
        otherLogs: this.#others.size,
      },
      'store opened',
    );
    if (readOnly) return;
    if (this.#others.size > 0) await this.#exclusive(() => this.#mergeQuietly());
    else if (this.#shouldCompact()) await this.#exclusive(() => this.#compactQuietly());
  }

  async close(): Promise<void> {
    if (!this.#isOpen) return;
    this.#isOpen = false;
    await this.#queue;
    await this.#release();
    this.#logger.info('store closed');
  }

  async upsert(records: readonly BehaviorRecord[]): Promise<void> {
    this.#requireWritable();
    for (const record of records) checkRecord(record, this);
    if (records.length === 0) return;

    await this.#exclusive(async () => {
      const entries: LogEntry[] = records.map((record) => ({
        kind: RecordKind.put,
        record: { ...record, vector: record.vector.slice() },
      }));
      await this.#write(entries);
    });
  }

  async get(ids: readonly string[]): Promise<Map<string, BehaviorRecord>> {
    this.#requireOpen();
    await this.#follow();
    const found = new Map<string, BehaviorRecord>();
    for (const id of ids) {
      const entry = this.#entries.get(id);
      if (entry !== undefined) found.set(id, copyRecord(entry.record));
    }
    return found;
  }

  async missing(ids: readonly string[]): Promise<string[]> {
    this.#requireOpen();
    await this.#follow();
    const seen = new Set<string>();
    const absent: string[] = [];
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      if (!this.#entries.has(id)) absent.push(id);
    }
    return absent;
  }

  async touch(observations: readonly BehaviorObservation[]): Promise<number> {
    this.#requireWritable();
    for (const observation of observations) checkObservation(observation);
    await this.#follow();

    return this.#exclusive(async () => {
      const updates = new Map<string, LogEntry & { kind: typeof RecordKind.touch }>();
      for (const { id, seenMs, count = 1 } of observations) {
        const current = updates.get(id) ?? this.#entries.get(id)?.record;
        if (current === undefined) continue;
        updates.set(id, {
          kind: RecordKind.touch,
          id,
          firstSeenMs: Math.min(current.firstSeenMs, seenMs),
          lastSeenMs: Math.max(current.lastSeenMs, seenMs),
          count: current.count + count,
        });
      }
      await this.#write([...updates.values()]);
      return updates.size;
    });
  }

  async count(): Promise<number> {
    this.#requireOpen();
    await this.#follow();
    return this.#entries.size;
  }

  /** Batches of copies of the records present when the scan started. */
  async *scan(batchSize: number): AsyncGenerator<BehaviorRecord[]> {
    checkPositiveInteger(batchSize, 'batchSize');
    this.#requireOpen();
    await this.#follow();
    const snapshot = [...this.#entries.values()];
    for (let start = 0; start < snapshot.length; start += batchSize) {
      yield snapshot.slice(start, start + batchSize).map((entry) => copyRecord(entry.record));
    }
  }

  async prune(olderThanMs: number): Promise<number> {
    this.#requireWritable();
    if (!Number.isFinite(olderThanMs)) {
      throw new BaheError(
        ErrorCode.CONFIG_INVALID,
        `olderThanMs must be finite epoch ms; got ${olderThanMs}`,
        {
          context: { field: 'olderThanMs' },
        },
      );
    }

    await this.#follow();
    return this.#exclusive(async () => {
      // A delete in one log cannot outrank a put in another, so pruning first merges every log into one.
      await this.#mergeOrRefuse('pruned');
      const ids: string[] = [];
      for (const [id, entry] of this.#entries) if (entry.record.lastSeenMs < olderThanMs) ids.push(id);
      const entries: LogEntry[] = [];
      for (let start = 0; start < ids.length; start += IDS_PER_DELETE) {
        entries.push({ kind: RecordKind.delete, ids: ids.slice(start, start + IDS_PER_DELETE) });
      }
      await this.#write(entries);
      this.#logger.info({ removed: ids.length, olderThanMs }, 'store pruned');
      return ids.length;
    });
  }

  async nearest(vector: Float32Array, k: number, filter: NearestFilter = {}): Promise<ScoredRecord[]> {
    this.#requireOpen();
    checkPositiveInteger(k, 'k');
    if (vector.length !== this.dimension) {
      throw new BaheError(
        ErrorCode.STORE_MISMATCH,
        `query vector has ${vector.length} values but the store holds ${this.dimension}; encode the query ` +
          `with encoder version ${this.encoderVersion}`,
        { context: { path: this.folder } },
      );
    }
    const queryNorm = norm(vector);
    if (queryNorm === 0) {
      throw storeError('query vector is all zeros, so cosine similarity is undefined', this.folder);
    }

    await this.#follow();
    const best = new TopK<Entry>(k);
    for (const entry of this.#entries.values()) {
      if (filter.type !== undefined && entry.record.type !== filter.type) continue;
      const score = entry.norm === 0 ? 0 : dot(vector, entry.record.vector) / (queryNorm * entry.norm);
      best.offer(entry, score);
    }
    return best.sorted().map(({ item, score }) => ({ record: copyRecord(item.record), score }));
  }

  /**
   * Rewrites the log with one record per live behavior, merging in the logs of writers that are no
   * longer open; runs by itself when dead bytes dominate. Fails while another writer is open.
   */
  async compact(): Promise<void> {
    this.#requireWritable();
    await this.#follow();
    await this.#exclusive(() => this.#mergeOrRefuse('compacted', true));
  }

  stats(): EmbeddedStoreStats {
    return {
      records: this.#entries.size,
      fileBytes: this.#fileBytes,
      deadBytes: this.#others.size > 0 ? 0 : this.#fileBytes - this.#liveBytes,
      otherLogs: this.#others.size,
    };
  }

  /** Takes the first writer slot no running process holds; its lock keeps other writers off its log. */
  async #claimSlot(): Promise<void> {
    for (let slot = 0; slot < MAX_WRITERS; slot += 1) {
      const lock = await tryAcquireLock(path.join(this.folder, segmentLock(slot)), this.#logger);
      if (lock === undefined) continue;
      this.#lock = lock;
      this.#slot = slot;
      this.#logPath = path.join(this.folder, segmentFile(slot));
      return;
    }
    throw storeError(
      `all ${MAX_WRITERS} writer slots of the store are held by running processes; stop some of them, ` +
        'or open this one read-only',
      this.folder,
      { retryable: true },
    );
  }

  /** The other writers' log files now in the folder. */
  async #otherLogFiles(): Promise<string[]> {
    const names = await readdir(this.folder).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return names.filter((name) => {
      const slot = slotOfFile(name);
      return slot !== undefined && slot !== this.#slot;
    });
  }

  /**
   * Applies what other writers appended since the last call. A record still being written is left
   * for the next call; a log replaced by its writer's compaction is read again from its start.
   */
  #follow(): Promise<void> {
    this.#following ??= this.#followOnce().finally(() => {
      this.#following = undefined;
    });
    return this.#following;
  }

  async #followOnce(): Promise<void> {
    const names = await this.#otherLogFiles();
    for (const gone of [...this.#others.keys()].filter((name) => !names.includes(name))) {
      this.#others.delete(gone);
    }
    for (const name of names) {
      const result = await readLog(
        path.join(this.folder, name),
        this.dimension,
        (entry, bytes) => this.#apply(entry, bytes),
        this.#others.get(name),
      );
      this.#others.set(name, { ino: result.ino, offset: result.validBytes });
    }
  }

  /** Replays this writer's own log, then the other writers' logs. */
  async #load(): Promise<void> {
    this.#entries = new Map();
    this.#others = new Map();
    this.#liveBytes = 0;
    if (this.#slot !== undefined) await this.#loadOwnLog();
    await this.#followOnce();
  }

  async #loadOwnLog(): Promise<void> {
    const result = await readLog(this.#logPath, this.dimension, (entry, bytes) => this.#apply(entry, bytes));
    this.#fileBytes = result.validBytes;
    if (result.tornTail === undefined) return;

    const { offset, reason } = result.tornTail;
    const droppedBytes = result.fileBytes - offset;
    this.#logger.warn(
      { offset, droppedBytes, reason, log: this.#logPath },
      'store log ends in an incomplete record, likely a crash during a write; truncating it',
    );
    const handle = await open(this.#logPath, 'r+');
    try {
      await handle.truncate(offset);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Applies one log entry to the in-memory state; shared by replay on open and by live writes. */
  #apply(entry: LogEntry, bytes: number): void {
    if (entry.kind === RecordKind.put) {
      const old = this.#entries.get(entry.record.id);
      if (old !== undefined) this.#liveBytes -= old.putBytes + old.touchBytes;
      const record = entry.record;
      this.#entries.set(record.id, { record, norm: norm(record.vector), putBytes: bytes, touchBytes: 0 });
      this.#liveBytes += bytes;
    } else if (entry.kind === RecordKind.touch) {
      const current = this.#entries.get(entry.id);
      if (current === undefined) return;
      this.#liveBytes += bytes - current.touchBytes;
      current.touchBytes = bytes;
      current.record.firstSeenMs = entry.firstSeenMs;
      current.record.lastSeenMs = entry.lastSeenMs;
      current.record.count = entry.count;
    } else {
      for (const id of entry.ids) {
        const current = this.#entries.get(id);
        if (current === undefined) continue;
        this.#liveBytes -= current.putBytes + current.touchBytes;
        this.#entries.delete(id);
      }
    }
  }

  /** Appends and fsyncs the entries, then applies them; the caller holds the write queue. */
  async #write(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const buffers = entries.map(encodeEntry);
    const data = buffers.length === 1 ? (buffers[0] as Buffer) : Buffer.concat(buffers);
    await this.#append(data);
    entries.forEach((entry, index) => {
      this.#apply(entry, (buffers[index] as Buffer).length);
    });
    if (this.#shouldCompact()) await this.#compactQuietly();
  }

  async #append(data: Buffer): Promise<void> {
    const handle = this.#writableHandle();
    try {
      await writeAll(handle, data);
    } catch (cause) {
      // Cut the partial write off so the next append does not land after garbage.
      await handle.truncate(this.#fileBytes).catch((error: unknown) => {
        this.#broken = error as Error;
      });
      throw storeError('writing the store log failed; see the cause (disk full?) and retry', this.#logPath, {
        cause,
        retryable: this.#broken === undefined,
      });
    }

    try {
      await handle.sync();
    } catch (cause) {
      // After a failed fsync the kernel may have dropped the written pages; only a reopen, which
      // re-reads the log, tells what is really on disk.
      this.#broken = cause as Error;
      throw storeError('flushing the store log to disk failed; close and reopen the store', this.#logPath, {
        cause,
      });
    }
    this.#fileBytes += data.length;
  }

  /**
   * Merges the logs of writers that are no longer open into this writer's log, by compacting every
   * live record into it (with `compactAlone`, also when there is nothing to merge); false, with
   * nothing changed, while another writer is open.
   */
  async #mergeOthers(compactAlone = false): Promise<boolean> {
    const taken: Array<{ name: string; lock: FileLock }> = [];
    try {
      for (const name of await this.#otherLogFiles()) {
        const slot = slotOfFile(name) as number;
        const lock = await tryAcquireLock(path.join(this.folder, segmentLock(slot)), this.#logger);
        if (lock === undefined) return false;
        taken.push({ name, lock });
      }
      // Their writers are gone, so these logs no longer grow: read them to their ends first.
      await this.#followOnce();
      if (taken.length === 0 && !compactAlone) return true;
      await this.#compactNow();
      for (const { name } of taken) await unlink(path.join(this.folder, name)).catch(ignoreMissing);
      await fsyncDir(this.folder);
      if (taken.length > 0) {
        this.#logger.info({ merged: taken.map(({ name }) => name) }, 'merged the logs of closed writers');
      }
      this.#others.clear();
      return true;
    } finally {
      for (const { lock } of taken) await lock.release();
    }
  }

  async #mergeOrRefuse(done: string, compactAlone = false): Promise<void> {
    if (await this.#mergeOthers(compactAlone)) return;
    throw storeError(
      `another process has the store open for writing, so it cannot be ${done} now; retry once every ` +
        'other writer (encoder, trainer, bahe run) has stopped',
      this.folder,
      { retryable: true },
    );
  }

  /** The merge a writer tries when it opens: a failure leaves the logs as they were, all still read. */
  async #mergeQuietly(): Promise<void> {
    try {
      const merged = await this.#mergeOthers();
      if (!merged) this.#logger.debug('other writers have the store open; their logs stay separate');
    } catch (error) {
      this.#logger.warn({ err: error }, 'merging the logs of closed writers failed; they stay separate');
    }
  }

  async #compactNow(): Promise<void> {
    const temp = path.join(this.folder, compactFile(this.#slot as number));
    const sizes = new Map<string, number>();
    let totalBytes = 0;
    const out = await open(temp, 'w');
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for (const [id, entry] of this.#entries) {
        const buffer = encodeEntry({ kind: RecordKind.put, record: entry.record });
        sizes.set(id, buffer.length);
        pending.push(buffer);
        pendingBytes += buffer.length;
        if (pendingBytes >= COMPACT_WRITE_BYTES) {
          await writeAll(out, Buffer.concat(pending));
          totalBytes += pendingBytes;
          pending = [];
          pendingBytes = 0;
        }
      }
      await writeAll(out, Buffer.concat(pending));
      totalBytes += pendingBytes;
      await out.sync();
    } catch (error) {
      await out.close();
      await rm(temp, { force: true });
      throw error;
    }
    await out.close();

    const before = this.#fileBytes;
    try {
      await rename(temp, this.#logPath);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    try {
      await fsyncDir(this.folder);
      await this.#handle?.close();
      this.#handle = await open(this.#logPath, 'a');
    } catch (cause) {
      this.#broken = cause as Error;
      throw storeError('reopening the store log after compaction failed; reopen the store', this.#logPath, {
        cause,
      });
    }

    for (const [id, entry] of this.#entries) {
      entry.putBytes = sizes.get(id) as number;
      entry.touchBytes = 0;
    }
    this.#fileBytes = totalBytes;
    this.#liveBytes = totalBytes;
    this.#logger.info(
      { records: this.#entries.size, beforeBytes: before, afterBytes: totalBytes },
      'store compacted',
    );
  }

  /**
   * Compaction started by the store itself: the records are already durable, so a failure is logged
   * rather than failing the call that triggered it (a failure that leaves the log unusable still
   * stops later writes).
   */
  async #compactQuietly(): Promise<void> {
    try {
      await this.#compactNow();
    } catch (error) {
      this.#logger.warn({ err: error }, 'store compaction failed; the log keeps its dead records');
    }
  }

  #shouldCompact(): boolean {
    if (this.#others.size > 0) return false;
    const dead = this.#fileBytes - this.#liveBytes;
    const { compactMinDeadBytes, compactDeadRatio } = this.#options;
    return dead > 0 && dead >= compactMinDeadBytes && dead > compactDeadRatio * this.#fileBytes;
  }

  /** Runs `task` after every write queued before it, so log order matches call order. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    // Tasks queued before close() still run: close() waits for the queue before it releases the log.
    const run = this.#queue.then(() => {
      if (this.#broken !== undefined) {
        throw storeError('an earlier write failed; close and reopen the store', this.folder, {
          cause: this.#broken,
        });
      }
      return task();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #release(): Promise<void> {
    const handle = this.#handle;
    const lock = this.#lock;
    this.#handle = undefined;
    this.#lock = undefined;
    this.#slot = undefined;
    this.#logPath = '';
    this.#entries = new Map();
    this.#others = new Map();
    this.#fileBytes = 0;
    this.#liveBytes = 0;
    try {
      await handle?.close();
    } finally {
      await lock?.release();
    }
  }

  #requireOpen(): void {
    if (!this.#isOpen) throw storeError('store is not open; call open() first', this.folder);
  }

  #requireWritable(): void {
    this.#requireOpen();
    if (this.#options.readOnly) {
      throw storeError('store was opened read-only; open it without readOnly to write', this.folder);
    }
    if (this.#broken !== undefined) {
      throw storeError('an earlier write failed; close and reopen the store', this.folder, {
        cause: this.#broken,
      });
    }
  }

  #writableHandle(): FileHandle {
    if (this.#handle === undefined) throw storeError('store log is not open for writing', this.folder);
    return this.#handle;
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}

function copyRecord(record: BehaviorRecord): BehaviorRecord {
  return { ...record, vector: record.vector.slice() };
}

function storeError(
  message: string,
  where: string,
  options: { cause?: unknown; retryable?: boolean } = {},
): BaheError {
  return new BaheError(ErrorCode.STORE_FAILED, message, { ...options, context: { path: where } });
}
