/**
 * The behavior store contract as tests. Every store implementation calls `runStoreConformance` from
 * its own test file with a harness that gives each test fresh, isolated storage.
 */

import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import type { BehaviorRecord, BehaviorStore, StoreBinding } from '../../src/store/types.js';
import { seededRandom } from '../helpers/random.js';
import { behaviorId, cosine, makeRecords, randomVector } from './records.js';

export interface StoreHarness {
  /**
   * Largest difference allowed between a vector written and read back, relative to its length: 0 for
   * a store that keeps the bits, float32 rounding for one that keeps unit vectors and their norms.
   */
  vectorTolerance?: number;
  /** A new, unopened store over this harness's storage; every call sees the same storage. */
  create(binding: StoreBinding): BehaviorStore;
  /** Removes the storage (temp folder, collections) the harness made. */
  cleanup(): Promise<void>;
}

const BINDING: StoreBinding = { encoderVersion: 'e-conformance1', dimension: 16 };

export interface ConformanceSettings {
  /** Why the suite cannot run here and how to enable it; the tests are then reported as skipped. */
  skip?: string | false;
}

export function runStoreConformance(
  name: string,
  makeHarness: () => Promise<StoreHarness>,
  settings: ConformanceSettings = {},
): void {
  /** An open store over fresh storage, closed and removed when the test ends. */
  async function openStore(
    t: TestContext,
    binding = BINDING,
  ): Promise<{ store: BehaviorStore; harness: StoreHarness }> {
    const harness = await makeHarness();
    const store = harness.create(binding);
    t.after(async () => {
      await store.close();
      await harness.cleanup();
    });
    await store.open();
    return { store, harness };
  }

  describe(`${name} store conformance`, { skip: settings.skip ?? false }, () => {
    test('upsert then get returns the same records, vectors included, and leaves out absent ids', async (t) => {
      const { store, harness } = await openStore(t);
      const records = makeRecords(5, BINDING.dimension);
      await store.upsert(records);

      const found = await store.get([behaviorId(0), behaviorId(3), behaviorId(99)]);
      assert.deepEqual([...found.keys()].sort(), [behaviorId(0), behaviorId(3)]);
      assertSameRecord(harness, found.get(behaviorId(3)), records[3]);
      assert.equal(await store.count(), 5);
    });

    test('upserting the same record again leaves one identical point; new content replaces it', async (t) => {
      const { store, harness } = await openStore(t);
      const [record] = makeRecords(1, BINDING.dimension) as [BehaviorRecord];
      await store.upsert([record]);
      await store.upsert([record]);
      assert.equal(await store.count(), 1);
      assertSameRecord(harness, (await store.get([record.id])).get(record.id), record);

      const replaced = { ...record, text: 'changed', vector: record.vector.map((v) => -v), count: 7 };
      await store.upsert([replaced]);
      assert.equal(await store.count(), 1);
      assertSameRecord(harness, (await store.get([record.id])).get(record.id), replaced);
    });

    test('records handed out are copies: changing them does not change the store', async (t) => {
      const { store, harness } = await openStore(t);
      const [record] = makeRecords(1, BINDING.dimension) as [BehaviorRecord];
      const original = { ...record, vector: record.vector.slice() };
      await store.upsert([record]);
      record.vector.fill(0);

      const got = (await store.get([record.id])).get(record.id) as BehaviorRecord;
      got.vector.fill(9);
      got.count = 100;
      assertSameRecord(harness, (await store.get([record.id])).get(record.id), original);
    });

    test('missing lists absent ids once each, in first-seen order', async (t) => {
      const { store } = await openStore(t);
      await store.upsert(makeRecords(3, BINDING.dimension));
      const ids = [behaviorId(7), behaviorId(1), behaviorId(5), behaviorId(7), behaviorId(2)];
      assert.deepEqual(await store.missing(ids), [behaviorId(7), behaviorId(5)]);
      assert.deepEqual(await store.missing([]), []);
    });

    test('touch moves lastSeen and count of stored behaviors and skips unknown ids', async (t) => {
      const { store, harness } = await openStore(t);
      const [record] = makeRecords(1, BINDING.dimension, { seenMs: 1000 }) as [BehaviorRecord];
      await store.upsert([record]);

      const touched = await store.touch([
        { id: record.id, seenMs: 5000 },
        { id: record.id, seenMs: 3000, count: 2 },
        { id: record.id, seenMs: 500 },
        { id: behaviorId(42), seenMs: 9000 },
      ]);
      assert.equal(touched, 1);
      const got = (await store.get([record.id])).get(record.id) as BehaviorRecord;
      assert.deepEqual(
        { firstSeenMs: got.firstSeenMs, lastSeenMs: got.lastSeenMs, count: got.count },
        { firstSeenMs: 500, lastSeenMs: 5000, count: 5 },
      );
      assertSameRecord(harness, { ...got, firstSeenMs: 1000, lastSeenMs: 1000, count: 1 }, record);
      assert.deepEqual(await store.missing([behaviorId(42)]), [behaviorId(42)]);
    });

    test('scan yields every record once, in batches no larger than asked', async (t) => {
      const { store, harness } = await openStore(t);
      const records = makeRecords(23, BINDING.dimension);
      await store.upsert(records);

      const seen = new Map<string, BehaviorRecord>();
      for await (const batch of store.scan(5)) {
        assert.ok(batch.length >= 1 && batch.length <= 5, `batch of ${batch.length}`);
        for (const record of batch) {
          assert.ok(!seen.has(record.id), `record ${record.id} scanned twice`);
          seen.set(record.id, record);
        }
      }
      assert.equal(seen.size, 23);
      for (const record of records) assertSameRecord(harness, seen.get(record.id), record);
    });

    test('prune removes the records last seen before the cutoff and counts them', async (t) => {
      const { store } = await openStore(t);
      await store.upsert(makeRecords(10, BINDING.dimension, { seenMs: 1000 }));
      await store.touch([{ id: behaviorId(2), seenMs: 2000 }]);

      assert.equal(await store.prune(1005), 4);
      assert.equal(await store.count(), 6);
      assert.deepEqual(await store.missing([0, 1, 2, 3, 4, 5].map(behaviorId)), [0, 1, 3, 4].map(behaviorId));
      assert.equal(await store.prune(1005), 0);
    });

    test('nearest agrees with brute-force cosine, best first, and honours the type filter', async (t) => {
      const { store } = await openStore(t);
      const records = makeRecords(200, BINDING.dimension, { seed: 7 });
      await store.upsert(records);
      const query = randomVector(BINDING.dimension, seededRandom(99));

      for (const type of [undefined, 'liked']) {
        const expected = records
          .filter((r) => type === undefined || r.type === type)
          .map((r) => ({ id: r.id, score: cosine(query, r.vector) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, 10);
        const got = await store.nearest(query, 10, type === undefined ? undefined : { type });
        assert.deepEqual(
          got.map((hit) => hit.record.id),
          expected.map((hit) => hit.id),
        );
        got.forEach((hit, i) => {
          assert.ok(Math.abs(hit.score - (expected[i]?.score ?? Number.NaN)) < 1e-5, `score ${i}`);
          if (type !== undefined) assert.equal(hit.record.type, type);
        });
      }
      assert.equal((await store.nearest(query, 1000)).length, 200);
    });

    test('records survive close and reopen by a new store object', async (t) => {
      const { store, harness } = await openStore(t);
      const records = makeRecords(12, BINDING.dimension);
      await store.upsert(records);
      await store.touch([{ id: behaviorId(4), seenMs: 1_800_000_000_000 }]);
      await store.prune(1_700_000_000_003);
      await store.close();

      const again = harness.create(BINDING);
      await again.open();
      t.after(() => again.close());
      assert.equal(await again.count(), 9);
      const got = await again.get(records.map((r) => r.id));
      assertSameRecord(harness, got.get(behaviorId(11)), records[11]);
      assert.equal(got.get(behaviorId(4))?.lastSeenMs, 1_800_000_000_000);
      assert.equal(got.get(behaviorId(4))?.count, 2);
    });

    test('opening stored vectors with another dimension fails with BAHE_STORE_MISMATCH', async (t) => {
      const { store, harness } = await openStore(t);
      await store.upsert(makeRecords(2, BINDING.dimension));
      await store.close();

      const other = harness.create({ ...BINDING, dimension: BINDING.dimension * 2 });
      await assert.rejects(other.open(), (error) => {
        assert.ok(isBaheError(error, 'BAHE_STORE_MISMATCH'), String(error));
        assert.match(error.message, /16/);
        assert.match(error.message, /32/);
        return true;
      });
      await other.close();
    });

    test('a vector of the wrong length or a malformed id is refused and nothing is stored', async (t) => {
      const { store } = await openStore(t);
      const [good, short, badId] = makeRecords(3, BINDING.dimension) as [
        BehaviorRecord,
        BehaviorRecord,
        BehaviorRecord,
      ];
      short.vector = new Float32Array(BINDING.dimension - 1);
      await assert.rejects(store.upsert([good, short]), (e) => isBaheError(e, 'BAHE_STORE_MISMATCH'));
      badId.id = 'not-a-uuid';
      await assert.rejects(store.upsert([badId]), (e) => isBaheError(e, 'BAHE_STORE_FAILED'));
      assert.equal(await store.count(), 0);
    });

    test('stores of two encoder versions over the same storage do not see each other', async (t) => {
      const { store, harness } = await openStore(t);
      await store.upsert(makeRecords(3, BINDING.dimension));

      const other = harness.create({ encoderVersion: 'e-conformance2', dimension: 8 });
      await other.open();
      t.after(() => other.close());
      assert.equal(await other.count(), 0);
      await other.upsert(makeRecords(1, 8, { first: 50 }));
      assert.deepEqual(await store.missing([behaviorId(50)]), [behaviorId(50)]);
      assert.equal(await store.count(), 3);
    });

    test('calls on a store that is not open fail with BAHE_STORE_FAILED', async (t) => {
      const harness = await makeHarness();
      t.after(() => harness.cleanup());
      const store = harness.create(BINDING);
      await assert.rejects(store.count(), (e) => isBaheError(e, 'BAHE_STORE_FAILED'));
      await assert.rejects(store.upsert(makeRecords(1, BINDING.dimension)), (e) =>
        isBaheError(e, 'BAHE_STORE_FAILED'),
      );
      await store.close();
    });
  });
}

/** Equal records; vectors may differ by the store's stated tolerance, relative to their length. */
function assertSameRecord(
  harness: StoreHarness,
  actual: BehaviorRecord | undefined,
  expected: BehaviorRecord | undefined,
): void {
  assert.ok(actual !== undefined && expected !== undefined, 'both records exist');
  const { vector, ...fields } = actual;
  const { vector: expectedVector, ...expectedFields } = expected;
  assert.deepEqual(fields, expectedFields);
  assert.ok(vector instanceof Float32Array, 'the vector is a Float32Array');
  const tolerance = harness.vectorTolerance ?? 0;
  if (tolerance === 0) {
    assert.deepEqual(vector, expectedVector);
    return;
  }
  assert.equal(vector.length, expectedVector.length);
  const allowed = tolerance * Math.sqrt(dotSelf(expectedVector));
  vector.forEach((value, i) => {
    assert.ok(Math.abs(value - (expectedVector[i] as number)) <= allowed, `vector value ${i}: ${value}`);
  });
}

function dotSelf(vector: Float32Array): number {
  let sum = 0;
  for (const value of vector) sum += value * value;
  return sum;
}
