import assert from 'node:assert/strict';
import { test } from 'node:test';
import { areaUnderRoc, bceWithLogit, RunningMetrics } from '../../src/trainer/metrics.js';
import { seededRandom } from '../helpers/random.js';

/** Pairwise definition of AUC: P(score of a positive > score of a negative), ties counting half. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((sn, j) => {
      if (labels[j] !== 0) return;
      pairs += 1;
      wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

test('areaUnderRoc matches the pairwise definition, ties included', () => {
  const random = seededRandom(7);
  for (let trial = 0; trial < 20; trial += 1) {
    const scores = Array.from({ length: 60 }, () => Math.round(random() * 10) / 10);
    const labels = scores.map((s) => (random() < s ? 1 : 0));
    assert.ok(Math.abs(areaUnderRoc(scores, labels) - pairwiseAuc(scores, labels)) < 1e-12);
  }
});

test('areaUnderRoc is 1 for a perfect ranking, 0 for a reversed one and NaN for one class', () => {
  assert.equal(areaUnderRoc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(areaUnderRoc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.ok(Number.isNaN(areaUnderRoc([0.1, 0.2], [1, 1])));
});

test('bceWithLogit is stable for large logits and equals the textbook form', () => {
  const textbook = (z: number, y: number) => {
    const p = 1 / (1 + Math.exp(-z));
    return -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
  };
  for (const z of [-3, -0.5, 0, 0.7, 4]) {
    for (const y of [0, 1]) assert.ok(Math.abs(bceWithLogit(z, y) - textbook(z, y)) < 1e-12);
  }
  assert.ok(Number.isFinite(bceWithLogit(1000, 0)));
  assert.ok(Math.abs(bceWithLogit(-1000, 0)) < 1e-12);
});

test('RunningMetrics survives a JSON round trip with the same AUC and log-loss', () => {
  const metrics = new RunningMetrics();
  const scored: Array<[number, 0 | 1]> = [
    [0.3, 1],
    [-1.2, 0],
    [2, 1],
    [0.1, 0],
  ];
  for (const [z, y] of scored) metrics.add(z, y);
  const restored = RunningMetrics.fromJSON(JSON.parse(JSON.stringify(metrics.toJSON())));
  assert.equal(restored.count, 4);
  assert.equal(restored.auc(), metrics.auc());
  assert.equal(restored.logLoss, metrics.logLoss);
});
