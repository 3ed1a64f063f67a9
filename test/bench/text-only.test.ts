import assert from 'node:assert/strict';
import { test } from 'node:test';
import { textOnlySide } from '../../bench/models.js';
import { SIDE_FEATURE_NAMES } from '../../src/features/side-features.js';
import { allocateBatch } from '../../src/trainer/batch.js';

test('text-only ablation: zeroing item_coldness with the rates shut the item-text prior; every item now counts as new (1), every other side feature is 0', () => {
  const shape = {
    rows: 3,
    behaviorTypes: ['liked', 'disliked'],
    maxHistoryPerType: 2,
    hiddenSize: 4,
    sideFeatureCount: SIDE_FEATURE_NAMES.length,
  };
  const batch = allocateBatch(shape);
  batch.side.forEach((_, i) => {
    batch.side[i] = 0.25 + i;
  });

  textOnlySide(batch, shape);

  for (let row = 0; row < shape.rows; row += 1) {
    const side = [...batch.side.subarray(row * shape.sideFeatureCount, (row + 1) * shape.sideFeatureCount)];
    const expected = SIDE_FEATURE_NAMES.map((name) => (name === 'item_coldness' ? 1 : 0));
    assert.deepEqual(side, expected, `row ${row}`);
  }
});
