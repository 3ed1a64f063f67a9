import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identifyBehavior } from '../../src/behavior/id.js';
import { BehaviorIdentityCache } from '../../src/behavior/identity-cache.js';
import { isBaheError } from '../../src/errors.js';

test('the cache gives the identity identifyBehavior computes, the same object for a repeat, per type', () => {
  const cache = new BehaviorIdentityCache();
  const liked = cache.identify('liked', '  Toy  Story (1995) ');
  assert.deepEqual(liked, identifyBehavior('liked', '  Toy  Story (1995) '));
  assert.equal(cache.identify('liked', '  Toy  Story (1995) '), liked);
  const disliked = cache.identify('disliked', '  Toy  Story (1995) ');
  assert.notEqual(disliked.id, liked.id);
  assert.deepEqual(disliked, identifyBehavior('disliked', '  Toy  Story (1995) '));
});

test('a full cache starts afresh and keeps answering correctly; invalid behaviors throw and are not kept', () => {
  const cache = new BehaviorIdentityCache(2);
  const first = cache.identify('liked', 'a');
  cache.identify('liked', 'b');
  const again = cache.identify('liked', 'a');
  assert.deepEqual(again, first);
  for (let round = 0; round < 2; round += 1) {
    assert.throws(
      () => cache.identify('Liked!', 'a'),
      (err: unknown) => isBaheError(err),
    );
    assert.throws(
      () => cache.identify('liked', '   '),
      (err: unknown) => isBaheError(err),
    );
  }
  assert.throws(() => new BehaviorIdentityCache(0), RangeError);
});
