import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, open, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, type TestContext, test } from 'node:test';
import { pino } from 'pino';
import { isBaheError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { EmbeddedStore, type EmbeddedStoreOptions } from '../../src/store/embedded.js';
import { encodeEntry, RecordKind } from '../../src/store/log-format.js';
import type { BehaviorRecord } from '../../src/store/types.js';
import { tempDir } from '../helpers/data.js';
import { seededRandom } from '../helpers/random.js';
import { runStoreConformance } from './conformance.js';
import { behaviorId, cosine, makeRecords, randomVector } from './records.js';

runStoreConformance('embedded', async () => {
  const { dir, cleanup } = await tempDir('bahe-store-');
  return { create: (binding) => new EmbeddedStore({ dir, ...binding }), cleanup };
});

const DIMENSION = 8;
const VERSION = 'e-embedded01';

/** A fresh folder for one test, removed when it ends, and a way to make stores in it. */
async function storeDir(t: TestContext): Promise<{
  dir: string;
  logPath: string;
  make: (options?: Partial<EmbeddedStoreOptions>) => EmbeddedStore;
}> {
  const { dir, cleanup } = await tempDir('bahe-store-');
  t.after(cleanup);
  return {
    dir,
    logPath: path.join(dir, VERSION, 'records.log'),
    make: (options = {}) =>
      new EmbeddedStore({ dir, encoderVersion: VERSION, dimension: DIMENSION, ...options }),
  };
}

/** Opens a store and closes it when the test ends. */
async function opened(t: TestContext, store: EmbeddedStore): Promise<EmbeddedStore> {
  t.after(() => store.close());
  await store.open();
  return store;
}

/** A logger whose lines the test can read back. */
function capturingLogger(): { logger: Logger; lines: () => { msg: string; [key: string]: unknown }[] } {
  const text: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text.push(String(chunk));
      done();
    },
  });
  return {
    logger: pino({ level: 'debug' }, sink),
    lines: () =>
      text
        .join('')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line)),
  };
}

/** Writes `count` records one upsert each and returns the log offset where each record starts. */
async function writeOneByOne(store: EmbeddedStore, count: number): Promise<number[]> {
  const offsets: number[] = [];
  for (const record of makeRecords(count, DIMENSION)) {
    offsets.push(store.stats().fileBytes);
    await store.upsert([record]);
  }
  return offsets;
}

describe('embedded store', () => {
  test('keeps its files in a folder named after the encoder version', async (t) => {
    const { dir, make } = await storeDir(t);
    const store = await opened(t, make());
    await store.upsert(makeRecords(1, DIMENSION));
    assert.deepEqual((await readdir(path.join(dir, VERSION))).sort(), ['LOCK', 'records.log', 'store.json']);
    await store.close();
    assert.deepEqual((await readdir(path.join(dir, VERSION))).sort(), ['records.log', 'store.json']);
  });

  test('a log cut in the middle of its last record keeps every earlier record and warns', async (t) => {
    const { logPath, make } = await storeDir(t);
    const store = await opened(t, make());
    const offsets = await writeOneByOne(store, 10);
    await store.close();
    const lastStart = offsets[9] as number;
    await truncate(logPath, lastStart + 30);

    const { logger, lines } = capturingLogger();
    const reopened = await opened(t, make({ logger }));
    assert.equal(await reopened.count(), 9);
    assert.deepEqual(await reopened.missing([behaviorId(8), behaviorId(9)]), [behaviorId(9)]);
    const warning = lines().find((line) => line.level === 40);
    assert.equal(warning?.offset, lastStart);
    assert.equal(warning?.droppedBytes, 30);
    assert.equal((await stat(logPath)).size, lastStart);

    await reopened.upsert(makeRecords(1, DIMENSION, { first: 9 }));
    await reopened.close();
    const third = await opened(t, make());
    assert.equal(await third.count(), 10);
  });

  test('garbage appended after the last record is dropped and the records kept', async (t) => {
    const { logPath, make } = await storeDir(t);
    const store = await opened(t, make());
    await store.upsert(makeRecords(5, DIMENSION));
    const goodBytes = store.stats().fileBytes;
    await store.close();
    const random = seededRandom(3);
    await appendFile(logPath, Buffer.from(Array.from({ length: 777 }, () => Math.floor(random() * 256))));

    const reopened = await opened(t, make());
    assert.equal(await reopened.count(), 5);
    assert.equal((await stat(logPath)).size, goodBytes);
  });

  test('a zero-filled tail, as some file systems leave after a crash, is dropped too', async (t) => {
    const { logPath, make } = await storeDir(t);
    const store = await opened(t, make());
    await store.upsert(makeRecords(3, DIMENSION));
    await store.close();
    await appendFile(logPath, Buffer.alloc(4096));

    const reopened = await opened(t, make());
    assert.equal(await reopened.count(), 3);
  });

  test('a corrupt record in the middle fails to open, naming the file and byte offset', async (t) => {
    const { logPath, make } = await storeDir(t);
    const store = await opened(t, make());
    const offsets = await writeOneByOne(store, 6);
    await store.close();
    const badOffset = offsets[2] as number;
    const handle = await open(logPath, 'r+');
    await handle.write(Buffer.from([0xff]), 0, 1, badOffset + 25);
    await handle.close();
    const sizeBefore = (await stat(logPath)).size;

    await assert.rejects(make().open(), (error) => {
      assert.ok(isBaheError(error, 'BAHE_STORE_FAILED'), String(error));
      assert.ok(error.message.includes(logPath), error.message);
      assert.ok(error.message.includes(`byte offset ${badOffset}`), error.message);
      return true;
    });
    assert.equal((await stat(logPath)).size, sizeBefore, 'nothing was truncated');
    await assert.rejects(make().open(), /is corrupt at byte offset/, 'the failed open released its lock');
  });

  test('overlapping writes without awaiting each other land in call order', async (t) => {
    const { make } = await storeDir(t);
    const store = await opened(t, make({ compactMinDeadBytes: 512 }));
    const records = makeRecords(10, DIMENSION, { seenMs: 1000 });
    const writes: Promise<unknown>[] = [store.upsert(records)];
    for (let round = 1; round <= 30; round += 1) {
      writes.push(store.touch(records.map((r) => ({ id: r.id, seenMs: 1000 + round }))));
    }
    writes.push(store.prune(1015), store.upsert(makeRecords(2, DIMENSION, { first: 10, seenMs: 5000 })));
    await Promise.all(writes);
    await store.close();

    const reopened = await opened(t, make());
    assert.equal(await reopened.count(), 12);
    const got = await reopened.get([behaviorId(3)]);
    assert.equal(got.get(behaviorId(3))?.count, 31);
    assert.equal(got.get(behaviorId(3))?.lastSeenMs, 1030);
  });

  test('two writers of one folder keep separate logs and each reads what the other wrote', async (t) => {
    const { dir, make } = await storeDir(t);
    const first = await opened(t, make());
    const second = await opened(t, make());
    const records = makeRecords(8, DIMENSION);
    await first.upsert(records.slice(0, 4));
    await second.upsert(records.slice(4));

    assert.equal(await first.count(), 8);
    assert.equal(await second.count(), 8);
    const seen = await first.get([behaviorId(6)]);
    assert.deepEqual(seen.get(behaviorId(6))?.vector, records[6]?.vector);
    assert.deepEqual(await second.missing([behaviorId(1), behaviorId(99)]), [behaviorId(99)]);
    assert.equal(first.stats().otherLogs, 1);
    assert.deepEqual((await readdir(path.join(dir, VERSION))).filter((f) => f.endsWith('.log')).sort(), [
      'records.1.log',
      'records.log',
    ]);
  });

  test('a writer in another process: the opener follows its writes, and merges its log once it has died', async (t) => {
    const { dir, make } = await storeDir(t);
    const child = await holdStoreInChild(dir);
    t.after(() => child.kill('SIGKILL'));

    const store = await opened(t, make());
    assert.equal(await store.count(), 1, 'the record the other process wrote is there');
    await store.upsert(makeRecords(1, DIMENSION, { first: 50 }));
    await childWrites(child, 7);
    assert.equal(await store.count(), 3, 'a record the other process wrote after this one opened');

    child.kill('SIGKILL');
    await once(child, 'exit');
    await store.close();
    const alone = await opened(t, make());
    assert.equal(await alone.count(), 3);
    assert.equal(alone.stats().otherLogs, 0, 'the dead writer’s log was merged');
    assert.deepEqual(
      (await readdir(path.join(dir, VERSION))).filter((f) => f.includes('.log')),
      ['records.log'],
    );
  });

  test('a record still being written by another writer is read only once it is complete', async (t) => {
    const { logPath, make } = await storeDir(t);
    const writer = await opened(t, make());
    await writer.upsert(makeRecords(2, DIMENSION));
    const reader = await opened(t, make({ readOnly: true }));
    assert.equal(await reader.count(), 2);

    const [record] = makeRecords(1, DIMENSION, { first: 9 });
    const bytes = encodeEntry({ kind: RecordKind.put, record: record as BehaviorRecord });
    const half = Math.floor(bytes.length / 2);
    await appendFile(logPath, bytes.subarray(0, half));
    assert.equal(await reader.count(), 2, 'half a record is not a record');
    await appendFile(logPath, bytes.subarray(half));
    assert.equal(await reader.count(), 3);
    assert.deepEqual(await reader.missing([behaviorId(9)]), []);
  });

  test('prune and compaction wait until the other writers have closed, then merge every log', async (t) => {
    const { make } = await storeDir(t);
    const first = await opened(t, make());
    const second = await opened(t, make());
    await first.upsert(makeRecords(3, DIMENSION, { seenMs: 1_000 }));
    await second.upsert(makeRecords(3, DIMENSION, { first: 3, seenMs: 5_000 }));

    for (const attempt of [second.prune(2_000), second.compact()]) {
      await assert.rejects(attempt, (error) => {
        assert.ok(isBaheError(error, 'BAHE_STORE_FAILED'));
        assert.equal(error.retryable, true);
        assert.match(error.message, /another process has the store open for writing/);
        return true;
      });
    }

    await first.close();
    assert.equal(await second.prune(2_000), 3, 'the records only the closed writer had put are pruned too');
    assert.equal(second.stats().otherLogs, 0);
    await second.close();
    const reopened = await opened(t, make());
    assert.equal(await reopened.count(), 3, 'a pruned record does not come back from another log');
  });

  test('a reader follows a writer’s log through its compaction', async (t) => {
    const { make } = await storeDir(t);
    const writer = await opened(t, make());
    const reader = await opened(t, make({ readOnly: true }));
    for (let round = 0; round < 3; round += 1)
      await writer.upsert(makeRecords(20, DIMENSION, { seed: round }));
    assert.equal(await reader.count(), 20);
    const before = writer.stats().fileBytes;
    await writer.compact();
    assert.ok(writer.stats().fileBytes < before, 'compaction made the log smaller');
    await writer.upsert(makeRecords(1, DIMENSION, { first: 20 }));

    assert.equal(await reader.count(), 21);
    const [latest] = makeRecords(1, DIMENSION, { seed: 2 });
    assert.deepEqual((await reader.get([behaviorId(0)])).get(behaviorId(0))?.vector, latest?.vector);
  });

  test('a read-only opener works beside the writer and refuses writes', async (t) => {
    const { make } = await storeDir(t);
    const writer = await opened(t, make());
    await writer.upsert(makeRecords(4, DIMENSION));

    const reader = await opened(t, make({ readOnly: true }));
    assert.equal(await reader.count(), 4);
    await assert.rejects(reader.upsert(makeRecords(1, DIMENSION)), (e) =>
      isBaheError(e, 'BAHE_STORE_FAILED'),
    );
    await assert.rejects(make({ readOnly: true, encoderVersion: 'e-absent' }).open(), /no embedded store/);
  });

  test('compaction rewrites a log of mostly superseded records and keeps the live ones', async (t) => {
    const { dir, logPath, make } = await storeDir(t);
    const store = await opened(t, make({ compactMinDeadBytes: 2048 }));
    const records = makeRecords(20, DIMENSION);
    await store.upsert(records);
    const liveBytes = store.stats().fileBytes;
    for (let round = 1; round <= 5; round += 1) {
      await store.touch(records.map((r) => ({ id: r.id, seenMs: r.lastSeenMs + round })));
    }

    const stats = store.stats();
    assert.ok(stats.fileBytes < 2 * liveBytes, `log of ${stats.fileBytes} bytes was compacted`);
    assert.equal((await stat(logPath)).size, stats.fileBytes);
    await store.close();
    await writeFile(path.join(dir, VERSION, 'records.log.compact'), 'left by a crash during compaction');

    const reopened = await opened(t, make());
    const got = await reopened.get(records.map((r) => r.id));
    assert.equal(got.size, 20);
    assert.equal(got.get(behaviorId(7))?.count, 6);
    assert.deepEqual(got.get(behaviorId(7))?.vector, records[7]?.vector);
    assert.deepEqual((await readdir(path.join(dir, VERSION))).sort(), ['LOCK', 'records.log', 'store.json']);
  });

  test('a log without its store.json beside it is refused rather than guessed at', async (t) => {
    const { dir, make } = await storeDir(t);
    const store = await opened(t, make());
    await store.upsert(makeRecords(1, DIMENSION));
    await store.close();
    await unlink(path.join(dir, VERSION, 'store.json'));
    await assert.rejects(make().open(), /store\.json beside it is missing/);
  });

  test('bad options fail at construction naming the field', () => {
    const make = (options: Partial<EmbeddedStoreOptions>) => () =>
      new EmbeddedStore({ dir: '/tmp/x', encoderVersion: VERSION, dimension: 4, ...options });
    assert.throws(make({ dimension: 0 }), /dimension must be an integer in \[1, 65536\]/);
    assert.throws(make({ encoderVersion: '../up' }), /encoderVersion/);
    assert.throws(make({ compactDeadRatio: 1.5 }), /compactDeadRatio must be in \(0, 1\)/);
    assert.throws(make({ dir: '' }), /dir must be a non-empty path/);
  });

  test('100k records: write, reopen and nearest in a few seconds', async (t) => {
    const { make } = await storeDir(t);
    const dimension = 32;
    const store = await opened(t, make({ dimension }));
    const started = performance.now();
    for (let first = 0; first < 100_000; first += 10_000) {
      await store.upsert(makeRecords(10_000, dimension, { first, seed: first + 1 }));
    }
    const wroteMs = performance.now() - started;
    await store.close();

    const reopenStarted = performance.now();
    const reopened = await opened(t, make({ dimension }));
    const reopenMs = performance.now() - reopenStarted;
    assert.equal(await reopened.count(), 100_000);

    const query = randomVector(dimension, seededRandom(11));
    const searchStarted = performance.now();
    const hits = await reopened.nearest(query, 5);
    const searchMs = performance.now() - searchStarted;
    const probe = (await reopened.get([hits[0]?.record.id as string])).values().next().value;
    assert.ok(Math.abs((hits[0]?.score as number) - cosine(query, probe?.vector as Float32Array)) < 1e-6);

    t.diagnostic(
      `write ${wroteMs.toFixed(0)} ms, reopen ${reopenMs.toFixed(0)} ms, nearest ${searchMs.toFixed(0)} ms`,
    );
    assert.ok(wroteMs + reopenMs + searchMs < 15_000, 'well inside the time a CI runner allows');
  });
});

/** Starts a process that opens the store in `dir`, writes one record and holds the lock. */
async function holdStoreInChild(dir: string): Promise<ChildProcess> {
  const moduleUrl = new URL('../../src/store/embedded.js', import.meta.url).href;
  const recordsUrl = new URL('./records.js', import.meta.url).href;
  // Writes one record at once, then one more for each number it reads on standard input.
  const script = `
    const { EmbeddedStore } = await import(${JSON.stringify(moduleUrl)});
    const { makeRecords } = await import(${JSON.stringify(recordsUrl)});
    const { createInterface } = await import('node:readline');
    const store = new EmbeddedStore({ dir: ${JSON.stringify(dir)}, encoderVersion: '${VERSION}', dimension: ${DIMENSION} });
    await store.open();
    await store.upsert(makeRecords(1, ${DIMENSION}));
    process.stdout.write('ready\\n');
    for await (const line of createInterface({ input: process.stdin })) {
      await store.upsert(makeRecords(1, ${DIMENSION}, { first: Number(line) }));
      process.stdout.write('written\\n');
    }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  assert.equal(await nextLine(child), 'ready', 'the holding process started');
  return child;
}

/** Has the child of `holdStoreInChild` write the record numbered `n`, and waits until it is durable. */
async function childWrites(child: ChildProcess, n: number): Promise<void> {
  child.stdin?.write(`${n}\n`);
  assert.equal(await nextLine(child), 'written');
}

async function nextLine(child: ChildProcess): Promise<string> {
  const [chunk] = (await Promise.race([
    once(child.stdout as NodeJS.ReadableStream, 'data'),
    once(child, 'exit'),
  ])) as [unknown];
  return String(chunk).trim();
}
