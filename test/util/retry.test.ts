import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Limiter } from '../../src/util/limiter.js';
import { backoffDelayMs, withRetry } from '../../src/util/retry.js';

const POLICY = { retries: 4, baseDelayMs: 100, maxDelayMs: 1000 };

test('backoff bounds double per attempt up to the maximum, and jitter spans [0, bound)', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(POLICY, attempt, () => 0.999999)),
    [99, 199, 399, 799, 999, 999],
  );
  assert.equal(
    backoffDelayMs(POLICY, 3, () => 0),
    0,
  );
});

test('a transient failure is retried after the computed waits, then the result is returned', async () => {
  const waits: number[] = [];
  let calls = 0;
  const result = await withRetry(
    async () => {
      calls += 1;
      if (calls < 3) throw new Error('transient');
      return 'done';
    },
    POLICY,
    { isRetryable: () => true, sleep: async (ms) => void waits.push(ms), random: () => 0.5 },
  );
  assert.equal(result, 'done');
  assert.equal(calls, 3);
  assert.deepEqual(waits, [50, 100]);
});

test('a permanent failure is thrown at once; retries stop when spent; a server hint wins', async () => {
  let calls = 0;
  const permanent = new Error('permanent');
  await assert.rejects(
    withRetry(
      async () => {
        calls += 1;
        throw permanent;
      },
      POLICY,
      { isRetryable: (e) => e !== permanent, sleep: async () => {} },
    ),
    /permanent/,
  );
  assert.equal(calls, 1);

  calls = 0;
  const waits: number[] = [];
  await assert.rejects(
    withRetry(
      async () => {
        calls += 1;
        throw new Error(`failure ${calls}`);
      },
      POLICY,
      { isRetryable: () => true, delayHintMs: () => 5000, sleep: async (ms) => void waits.push(ms) },
    ),
    /failure 5/,
  );
  assert.equal(calls, POLICY.retries + 1);
  assert.deepEqual(waits, [1000, 1000, 1000, 1000], 'the hint is capped at maxDelayMs');
});

test('the limiter never runs more tasks at once than its limit and runs every task', async () => {
  const limiter = new Limiter(3);
  let running = 0;
  let peak = 0;
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      limiter
        .run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 1 + (i % 4)));
          running -= 1;
          if (i === 7) throw new Error('one task fails');
          return i;
        })
        .catch(() => -1),
    ),
  );
  assert.equal(peak, 3);
  assert.equal(results.filter((r) => r >= 0).length, 19);
  assert.equal(limiter.running, 0);
});
