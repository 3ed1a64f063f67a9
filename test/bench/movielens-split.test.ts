import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSplit } from '../../bench/movielens-split.js';
import { datasetDir } from '../helpers/data.js';

const movielens = datasetDir('movielens-100k');

test("ua.base impressions carry each user's earlier ratings, the most recent per type", {
  skip: movielens.skip,
}, async () => {
  const depth = 3;
  const split = await readSplit(movielens.dir, depth);
  assert.equal(split.train.length, 90_570);
  assert.equal(split.test.length, 9_430);

  // Rebuilt here from the impressions themselves: a rating becomes a behavior once it has been seen.
  const past = new Map<string, Array<{ type: string; behaviorId: string }>>();
  for (const impression of split.train) {
    const earlier = past.get(impression.userId) ?? [];
    const liked = earlier.filter((b) => b.type === 'liked').slice(-depth);
    const disliked = earlier.filter((b) => b.type === 'disliked').slice(-depth);
    const expected = earlier.filter((b) => liked.includes(b) || disliked.includes(b));
    assert.deepEqual(impression.history, expected);
    earlier.push({
      type: impression.label === 1 ? 'liked' : 'disliked',
      behaviorId: impression.itemBehaviorId,
    });
    past.set(impression.userId, earlier);
  }
});

test("a ua.test impression's history holds only that user's ua.base ratings", {
  skip: movielens.skip,
}, async () => {
  const split = await readSplit(movielens.dir, 25);
  const rated = new Map<string, Set<string>>();
  for (const impression of split.train) {
    const items = rated.get(impression.userId) ?? new Set();
    items.add(impression.itemBehaviorId);
    rated.set(impression.userId, items);
  }
  let withHistory = 0;
  for (const impression of split.test) {
    const items = rated.get(impression.userId) ?? new Set();
    for (const behavior of impression.history) assert.ok(items.has(behavior.behaviorId));
    assert.ok(impression.history.filter((b) => b.type === 'liked').length <= 25);
    if (impression.history.length > 0) withHistory += 1;
  }
  assert.ok(withHistory > split.test.length / 2, `only ${withHistory} test impressions have a history`);
});
