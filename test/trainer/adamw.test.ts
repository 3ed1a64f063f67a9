import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW } from '../../src/trainer/adamw.js';

test('AdamW follows the decoupled-weight-decay update for two steps', () => {
  const w = new Float32Array([0.5]);
  const parameters = new Map([['w', w]]);
  const optimizer = new AdamW(parameters, { weightDecay: 0.1, maxGradNorm: 0 });
  const lr = 0.01;
  const grads = [0.2, -0.4];

  let expected = 0.5;
  let m = 0;
  let v = 0;
  grads.forEach((g, index) => {
    const t = index + 1;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    expected =
      expected * (1 - lr * 0.1) - (lr * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
    optimizer.step(parameters, new Map([['w', new Float32Array([g])]]), () => lr);
  });

  assert.ok(Math.abs((w[0] as number) - expected) < 1e-6, `${w[0]} vs ${expected}`);
  assert.equal(optimizer.state.step, 2);
});

test('AdamW clips the global gradient norm and leaves parameters alone on a non-finite gradient', () => {
  const w = new Float32Array([1, 1]);
  const parameters = new Map([['w', w]]);
  const optimizer = new AdamW(parameters, { maxGradNorm: 1, weightDecay: 0 });
  const norm = optimizer.step(parameters, new Map([['w', new Float32Array([30, 40])]]), () => 0.1);
  assert.equal(norm, 50);
  assert.ok((w[0] as number) < 1 && (w[1] as number) < 1);

  const before = Float32Array.from(w);
  const bad = optimizer.step(parameters, new Map([['w', new Float32Array([Number.NaN, 1])]]), () => 0.1);
  assert.ok(Number.isNaN(bad));
  assert.deepEqual(w, before);
  assert.equal(optimizer.state.step, 1);
});

test('AdamW refuses optimizer state of the wrong size', () => {
  const parameters = new Map([['w', new Float32Array(3)]]);
  const state = { step: 1, firstMoment: new Map([['w', new Float32Array(2)]]), secondMoment: new Map() };
  assert.throws(() => new AdamW(parameters, {}, state), /does not match/);
});
