import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BehaviorRef } from '../../src/pipeline/behavior-vectors.js';
import { latestPerType } from '../../src/serve/scorer.js';

const ref = (type: string, n: number): BehaviorRef => ({
  id: `${type}-${n}`,
  type,
  text: `${type} ${n}`,
  seenMs: n,
});

test('only the latest references of each type are kept, in their order, so older ones are never encoded', () => {
  const history = [
    ...Array.from({ length: 30 }, (_, n) => ref('liked', n)),
    ref('disliked', 100),
    ref('liked', 30),
    ref('disliked', 101),
  ];
  const kept = latestPerType(history, 25);
  assert.deepEqual(
    kept.filter((r) => r.type === 'liked').map((r) => r.seenMs),
    Array.from({ length: 25 }, (_, n) => n + 6),
  );
  assert.deepEqual(
    kept.filter((r) => r.type === 'disliked').map((r) => r.seenMs),
    [100, 101],
  );
  assert.deepEqual(
    kept.map((r) => r.id),
    history.filter((r) => kept.includes(r)).map((r) => r.id),
    'original order',
  );
  assert.deepEqual(latestPerType([], 25), []);
});
