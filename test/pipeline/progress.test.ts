import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { Progress } from '../../src/pipeline/progress.js';

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

test('progress lines carry the count, the percentage, a rate and an ETA, and stop at the total', async () => {
  const { logger, lines } = capture();
  const progress = new Progress(logger, { unit: 'impressions', total: 100, intervalMs: 0 });
  await new Promise((resolve) => setTimeout(resolve, 5));
  progress.advance(25, { step: 1 });
  progress.advance(75, { step: 2 });

  assert.equal(lines.length, 2);
  const [first, last] = lines as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(first.msg, 'progress');
  assert.equal(first.impressions, 25);
  assert.equal(first.percent, 25);
  assert.equal(first.step, 1);
  assert.ok((first.perSecond as number) > 0);
  assert.ok((first.etaS as number) >= 0);
  assert.equal(last.impressions, 100);
  assert.equal(last.etaS, 0);
});

test('nothing is logged before the interval has passed', () => {
  const { logger, lines } = capture();
  const progress = new Progress(logger, { unit: 'events', intervalMs: 60_000 });
  progress.advance(10);
  assert.equal(lines.length, 0);
  assert.equal(progress.snapshot().done, 10);
  assert.equal(progress.snapshot().etaS, undefined, 'no ETA without a known total');
});
