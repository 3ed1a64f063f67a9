import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BehaviorRefMessage } from '../../../src/services/encoder/behavior-ref-message.js';
import { StoredBehaviors } from '../../../src/services/encoder/stored-behaviors.js';
import { EmbeddedStore } from '../../../src/store/embedded.js';
import { tempDir } from '../../helpers/data.js';
import { behaviorId, makeRecords } from '../../store/records.js';

function ref(n: number, sightings: number): BehaviorRefMessage {
  return {
    id: behaviorId(n),
    type: n % 2 === 0 ? 'liked' : 'disliked',
    text: `behavior text ${n}`,
    seenMs: 1,
    lastSeenMs: 1,
    count: Math.max(1, sightings),
    sightings,
  };
}

/** A real embedded store holding behaviors 0 to 3, whose lookups are counted. */
async function storeWithFour(t: { after: (fn: () => Promise<void>) => void }) {
  const { dir, cleanup } = await tempDir('bahe-stored-behaviors-');
  const store = new EmbeddedStore({ dir, encoderVersion: 'e-test', dimension: 4 });
  await store.open();
  t.after(async () => {
    await store.close();
    await cleanup();
  });
  await store.upsert(makeRecords(4, 4));
  const looked: string[][] = [];
  const counted = {
    missing: (ids: readonly string[]) => {
      looked.push([...ids]);
      return store.missing(ids);
    },
  };
  return { store, counted, looked };
}

test('stored behaviors mentioned by impressions only are left out; sightings and unstored behaviors go on', async (t) => {
  const { counted, looked } = await storeWithFour(t);
  const stored = new StoredBehaviors(counted);
  const kept = await stored.needed([ref(0, 0), ref(1, 2), ref(7, 0), ref(8, 1)]);
  assert.deepEqual(
    kept.map((r) => r.id),
    [behaviorId(1), behaviorId(7), behaviorId(8)],
  );
  assert.equal(looked.length, 1);

  // Known stored ids are not looked up again; unknown ones are, each time.
  const again = await stored.needed([ref(0, 0), ref(2, 0), ref(7, 0)]);
  assert.deepEqual(
    again.map((r) => r.id),
    [behaviorId(7)],
  );
  assert.deepEqual(looked[1], [behaviorId(2), behaviorId(7)]);
});

test('what is known stored expires: a behavior pruned since is sent on again after maxAgeMs', async (t) => {
  const { store, counted, looked } = await storeWithFour(t);
  let now = 0;
  const stored = new StoredBehaviors(counted, { maxAgeMs: 1_000, now: () => now });
  assert.deepEqual(await stored.needed([ref(0, 0)]), []);

  await store.prune(Number.MAX_SAFE_INTEGER);
  now = 500;
  assert.deepEqual(await stored.needed([ref(0, 0)]), [], 'still known within maxAgeMs');
  now = 1_500;
  assert.deepEqual(
    (await stored.needed([ref(0, 0)])).map((r) => r.id),
    [behaviorId(0)],
  );
  assert.equal(looked.length, 2);
});

test('the set starts afresh at maxEntries', async (t) => {
  const { counted, looked } = await storeWithFour(t);
  const stored = new StoredBehaviors(counted, { maxEntries: 2 });
  await stored.needed([ref(0, 0), ref(1, 0)]);
  await stored.needed([ref(0, 0)]);
  assert.equal(looked.length, 2, 'full at 2 entries, so 0 is looked up again');
});
