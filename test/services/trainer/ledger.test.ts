import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBaheError } from '../../../src/errors.js';
import { TrainingLedger } from '../../../src/services/trainer/ledger.js';
import { OffsetRanges } from '../../../src/services/trainer/offset-ranges.js';

test('offset ranges merge in any arrival order and refuse a repeat', () => {
  const ranges = new OffsetRanges();
  for (const offset of [0, 1, 2, 5, 4, 9, 3, 7, 8]) assert.equal(ranges.add(offset), true);
  assert.deepEqual(ranges.toJSON(), [
    [0, 5],
    [7, 9],
  ]);
  assert.equal(ranges.add(4), false);
  assert.equal(ranges.size, 9);
  assert.equal(ranges.add(6), true);
  assert.deepEqual(ranges.toJSON(), [[0, 9]]);
  assert.deepEqual(
    new OffsetRanges([
      [0, 2],
      [3, 4],
      [8, 8],
    ]).toJSON(),
    [
      [0, 4],
      [8, 8],
    ],
  );
  assert.throws(
    () =>
      new OffsetRanges([
        [3, 4],
        [1, 2],
      ]),
    RangeError,
  );
});

test('a position resumes each partition at its oldest impression still waiting for its micro-batch', () => {
  const ledger = new TrainingLedger();
  const at = (partition: number, offset: number) => ({ topic: 'imp', partition, offset });
  for (let offset = 0; offset < 6; offset += 1) ledger.markRead(at(0, offset));
  for (const offset of [0, 1, 3]) ledger.markTrained(at(0, offset));
  ledger.markDeadLettered(at(0, 2));
  ledger.markRead(at(1, 0));

  const position = ledger.toPosition([at(0, 4), at(0, 5), at(1, 0)]);
  assert.deepEqual(position.next, { imp: { 0: 4, 1: 0 } });
  assert.deepEqual(position.trained, {
    imp: {
      0: [
        [0, 1],
        [3, 3],
      ],
    },
  });
  assert.deepEqual(position.deadLettered, { imp: { 0: [[2, 2]] } });
  assert.throws(() => ledger.markTrained(at(0, 3)), /trained twice/);

  const resumed = TrainingLedger.fromCheckpoint(JSON.parse(JSON.stringify(position)), 'imp', 'x.ckpt');
  assert.equal(resumed.wasRead(at(0, 3)), true);
  assert.equal(resumed.wasRead(at(0, 4)), false);
  assert.equal(resumed.nextOffset('imp', 2), undefined);
});

test('a checkpoint of bahe run or of another topic is refused as a trainer position', () => {
  for (const position of [
    { event: 10, dataset: 'abc' },
    { kind: 'kafka', next: { other: { 0: 1 } } },
  ]) {
    assert.throws(
      () => TrainingLedger.fromCheckpoint(position, 'imp', 'x.ckpt'),
      (error) => isBaheError(error, 'BAHE_CHECKPOINT_INVALID'),
    );
  }
});
