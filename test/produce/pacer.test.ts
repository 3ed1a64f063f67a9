import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pacer } from '../../src/produce/pacer.js';

test('Pacer holds 300 events at 1,000 events/s to about 0.3 s, in requests of at most 50', async () => {
  const pacer = new Pacer(1_000);
  const batch = pacer.batchSize(500);
  assert.equal(batch, 50);
  const started = performance.now();
  for (let sent = 0; sent < 300; sent += batch) await pacer.admit(batch);
  const elapsedMs = performance.now() - started;
  assert.ok(elapsedMs >= 290, `300 events took ${elapsedMs.toFixed(0)} ms, faster than 1,000/s`);
  assert.ok(elapsedMs < 1_500, `300 events took ${elapsedMs.toFixed(0)} ms`);
});

test('Pacer with rate 0 never waits and keeps the full batch', async () => {
  const pacer = new Pacer(0);
  assert.equal(pacer.batchSize(500), 500);
  const started = performance.now();
  await pacer.admit(1_000_000);
  assert.ok(performance.now() - started < 50);
});
