import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { MicroBatcher } from '../../src/encoder/batcher.js';
import { ErrorCode, isBaheError } from '../../src/errors.js';

/** A batch function that doubles numbers and records every batch it was given. */
function doubler() {
  const batches: number[][] = [];
  const run = async (items: number[]) => {
    batches.push([...items]);
    return items.map((n) => n * 2);
  };
  return { batches, run };
}

/** A promise that the test settles by hand, to hold batches in flight. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const NEVER_MS = 600_000;

test('sends a batch as soon as maxBatchSize items wait, results in item order', async () => {
  const { batches, run } = doubler();
  const batcher = new MicroBatcher(run, { maxBatchSize: 3, maxWaitMs: NEVER_MS });

  const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));

  assert.deepEqual(results, [2, 4, 6]);
  assert.deepEqual(batches, [[1, 2, 3]]);
  await batcher.close();
});

test('sends a smaller batch once the oldest item waited maxWaitMs', async () => {
  const { batches, run } = doubler();
  const batcher = new MicroBatcher(run, { maxBatchSize: 100, maxWaitMs: 5 });

  assert.deepEqual(await Promise.all([batcher.submit(1), batcher.submit(2)]), [2, 4]);
  assert.deepEqual(batches, [[1, 2]]);
  await batcher.close();
});

test('drain sends waiting items at once and waits for them', async () => {
  const { batches, run } = doubler();
  const batcher = new MicroBatcher(run, { maxBatchSize: 100, maxWaitMs: NEVER_MS });
  const pending = [batcher.submit(1), batcher.submit(2)];
  assert.equal(batcher.queued, 2);

  await batcher.drain();

  assert.deepEqual(batches, [[1, 2]]);
  assert.deepEqual(await Promise.all(pending), [2, 4]);
  assert.equal(batcher.queued, 0);
  await batcher.close();
});

test('identical keys waiting together are run once and share the result', async () => {
  const { batches, run } = doubler();
  const batcher = new MicroBatcher(run, { maxBatchSize: 100, maxWaitMs: NEVER_MS, keyOf: String });
  const pending = [batcher.submit(7), batcher.submit(8), batcher.submit(7)];

  await batcher.drain();

  assert.deepEqual(batches, [[7, 8]]);
  assert.deepEqual(await Promise.all(pending), [14, 16, 14]);
  await batcher.close();
});

test('never runs more than maxInFlight batches at once; queued batches start as slots free', async () => {
  const hold = gate();
  let running = 0;
  let mostRunning = 0;
  const started: number[][] = [];
  const batcher = new MicroBatcher(
    async (items: number[]) => {
      started.push(items);
      running += 1;
      mostRunning = Math.max(mostRunning, running);
      await hold.opened;
      running -= 1;
      return items;
    },
    { maxBatchSize: 2, maxWaitMs: NEVER_MS, maxInFlight: 2 },
  );

  const pending = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => batcher.submit(n));
  await tick();
  assert.equal(batcher.inFlight, 2);
  assert.equal(batcher.queued, 4);

  hold.open();
  assert.deepEqual(await Promise.all(pending), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(mostRunning, 2);
  assert.deepEqual(started, [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
  ]);
  await batcher.close();
});

test("a failing batch rejects only its own items' promises", async () => {
  const batcher = new MicroBatcher(
    async (items: string[]) => {
      if (items.includes('bad')) throw new Error('cannot encode bad');
      return items.map((s) => s.toUpperCase());
    },
    { maxBatchSize: 2, maxWaitMs: NEVER_MS },
  );

  const good = [batcher.submit('a'), batcher.submit('b')];
  const failed = [batcher.submit('bad'), batcher.submit('c')];

  assert.deepEqual(await Promise.all(good), ['A', 'B']);
  for (const promise of failed) await assert.rejects(promise, /cannot encode bad/);
  const later = batcher.submit('d');
  await batcher.drain();
  assert.equal(await later, 'D');
  await batcher.close();
});

test('a batch function returning the wrong number of results rejects that batch', async () => {
  const batcher = new MicroBatcher(async (items: number[]) => items.slice(1), { maxBatchSize: 2 });
  await assert.rejects(Promise.all([batcher.submit(1), batcher.submit(2)]), /returned 1 results for 2 items/);
  await batcher.close();
});

test('close drains waiting items and refuses new ones', async () => {
  const { run } = doubler();
  const batcher = new MicroBatcher(run, { maxBatchSize: 10, maxWaitMs: NEVER_MS });
  const pending = batcher.submit(4);

  await batcher.close();

  assert.equal(await pending, 8);
  await assert.rejects(batcher.submit(5), /closed/);
});

test('bad options fail at construction, naming the field and range', () => {
  const { run } = doubler();
  for (const [options, field] of [
    [{ maxBatchSize: 0 }, 'maxBatchSize'],
    [{ maxWaitMs: -1 }, 'maxWaitMs'],
    [{ maxInFlight: 1.5 }, 'maxInFlight'],
  ] as const) {
    assert.throws(
      () => new MicroBatcher(run, options),
      (err) =>
        isBaheError(err, ErrorCode.CONFIG_INVALID) && err.context.field === field && /\[/.test(err.message),
    );
  }
});
