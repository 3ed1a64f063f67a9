/**
 * A service told to stop ends within BAHE_STOP_TIMEOUT_MS even when a clean stop cannot finish: here
 * the broker never answers, which holds kafkajs' retries (and so a clean stop) for minutes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/data.js';
import { closedPort } from '../helpers/net.js';

test('a trainer whose broker never answers stops within BAHE_STOP_TIMEOUT_MS of SIGTERM, saying why', async (t) => {
  const { dir, cleanup } = await tempDir('bahe-stop-timeout-');
  t.after(cleanup);
  const port = await closedPort();
  const args = [
    ...['trainer', '--kafka-brokers', `127.0.0.1:${port}`, '--state-dir', path.join(dir, 'state')],
    ...['--store', 'embedded', '--store-dir', path.join(dir, 'store'), '--ops-port', '0', '--threads', '1'],
  ];
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'src', 'cli.js'), ...args], {
    env: { ...process.env, QDRANT_URL: '', BAHE_STOP_TIMEOUT_MS: '1500', BAHE_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => {
    log += String(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  // Signal once it is trying the broker.
  const started = Date.now();
  while (!/connect|broker/i.test(log) && Date.now() - started < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const signalled = Date.now();
  child.kill('SIGTERM');
  const deadline = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref());
  const code = await Promise.race([exited, deadline]);
  if (code === 'hung') child.kill('SIGKILL');
  assert.notEqual(code, 'hung', `still running 10 s after SIGTERM; log:\n${log.slice(-2000)}`);
  const tookMs = Date.now() - signalled;
  if (code === 130) assert.match(log, /not stopped in time/);
  else assert.equal(code, 0, `exit status ${code}; log:\n${log.slice(-2000)}`);
  t.diagnostic(`exited with status ${code} ${tookMs} ms after SIGTERM`);
});
