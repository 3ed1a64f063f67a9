import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIDE_FEATURE_NAMES, SideFeatures } from '../../src/features/side-features.js';

test('side features use only labels observed before the impression', () => {
  const features = new SideFeatures({ priorStrength: 5 });
  const before = new Float32Array(SIDE_FEATURE_NAMES.length);
  features.write('u1', 'i1', before);
  assert.equal(before[0], before[1], 'an unseen user and item both sit at the prior');
  assert.equal(before[0], 0, 'an unseen user has no lift over the global rate');
  assert.equal(before[3], 0);

  features.observe('u1', 'i1', 1);
  features.observe('u1', 'i2', 1);
  const after = new Float32Array(SIDE_FEATURE_NAMES.length);
  features.write('u1', 'i1', after);
  assert.ok((after[0] as number) > (before[0] as number), 'two positives raise the user rate');
  assert.ok(Math.abs((after[3] as number) - Math.log1p(2) / 5) < 1e-6);
  assert.ok(Math.abs((after[4] as number) - Math.log1p(1) / 5) < 1e-6);
  assert.equal(before[5], 1, 'an unseen item is fully cold');
  assert.ok(Math.abs((after[5] as number) - 1 / (1 + 1 / 5)) < 1e-6, 'one impression cools it a little');
});

test('the baseline ranks a user with positives above one with negatives, and survives JSON', () => {
  const features = new SideFeatures();
  for (let i = 0; i < 10; i += 1) {
    features.observe('fan', `i${i}`, 1);
    features.observe('critic', `i${i}`, 0);
  }
  assert.ok(features.baselineScore('fan', 'new') > features.baselineScore('critic', 'new'));
  const restored = SideFeatures.fromJSON(JSON.parse(JSON.stringify(features.toJSON())));
  assert.equal(restored.baselineScore('fan', 'i3'), features.baselineScore('fan', 'i3'));
});

test('SideFeatures refuses a prior strength that is not positive', () => {
  assert.throws(() => new SideFeatures({ priorStrength: 0 }), /priorStrength/);
});

test('the three log-odds features sum to the baseline score, so a wide part of ones starts as the baseline', () => {
  const features = new SideFeatures();
  const labels: Array<0 | 1> = [1, 0, 1, 1, 0, 1, 0, 0, 1];
  labels.forEach((label, i) => {
    features.observe(`u${i % 3}`, `i${i % 4}`, label);
  });
  const out = new Float32Array(SIDE_FEATURE_NAMES.length);
  for (const [user, item] of [
    ['u0', 'i1'],
    ['u2', 'i3'],
    ['new', 'i0'],
  ] as const) {
    features.write(user, item, out);
    const wide = (out[0] as number) + (out[1] as number) + (out[2] as number);
    assert.ok(Math.abs(wide - features.baselineScore(user, item)) < 1e-5);
  }
});
