import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { acquireLock, tryAcquireLock } from '../../src/util/lock.js';
import { tempDir } from '../helpers/data.js';

async function lockPath(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const { dir, cleanup } = await tempDir('bahe-lock-');
  t.after(cleanup);
  return path.join(dir, 'LOCK');
}

test('a lock this process holds is refused to a second taker, naming the holder; try gives undefined', async (t) => {
  const file = await lockPath(t);
  const held = await acquireLock(file, silentLogger());
  await assert.rejects(acquireLock(file, silentLogger()), (error) => {
    assert.ok(isBaheError(error, 'BAHE_STORE_FAILED'));
    assert.match(error.message, new RegExp(`pid ${process.pid}\\b`));
    return true;
  });
  assert.equal(await tryAcquireLock(file, silentLogger()), undefined);
  await held.release();
  const again = await tryAcquireLock(file, silentLogger());
  assert.ok(again, 'a released lock can be taken');
  await again.release();
});

test('a lock left by an earlier process with this pid on this host (a restarted container) is taken over', async (t) => {
  const file = await lockPath(t);
  const earlier = {
    pid: process.pid,
    host: hostname(),
    acquiredAt: '2026-01-01T00:00:00.000Z',
    process: 'feedfacefeedface',
  };
  await writeFile(file, `${JSON.stringify(earlier)}\n`);
  const lock = await acquireLock(file, silentLogger());
  await lock.release();
});

test('a lock of a process that no longer runs is taken over; one from another host is not', async (t) => {
  const file = await lockPath(t);
  // Pids above the kernel's default limit (4,194,304) never run.
  await writeFile(file, `${JSON.stringify({ pid: 99_999_999, host: hostname(), acquiredAt: 'x' })}\n`);
  const lock = await acquireLock(file, silentLogger());
  await lock.release();

  await writeFile(file, `${JSON.stringify({ pid: 99_999_999, host: 'another-host', acquiredAt: 'x' })}\n`);
  assert.equal(await tryAcquireLock(file, silentLogger()), undefined, 'a holder elsewhere cannot be checked');
});
