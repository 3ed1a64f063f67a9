import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/data.js';
import { kafkaBrokers, kafkaSkip } from '../helpers/kafka.js';
import { closedPort, freePort } from '../helpers/net.js';

const noKafka = await kafkaSkip();

/** Runs `bahe <args>` until it exits (or `timeoutMs`, then SIGTERM); returns its status and standard error. */
async function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'src', 'cli.js'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, BAHE_KAFKA_PASSWORD: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  clearTimeout(timer);
  return { code, stderr };
}

for (const command of ['serve', 'trainer']) {
  test(`bahe ${command}: a Kafka SASL password passed by flag appears in no log line, even at trace level`, async () => {
    const secret = `pw-${randomBytes(12).toString('hex')}`;
    const work = await tempDir('bahe-secrets-');
    // The local broker speaks plaintext, so SASL fails there; without one, the connection is refused.
    const brokers = noKafka ? `127.0.0.1:${await closedPort()}` : kafkaBrokers().join(',');
    const folders =
      command === 'serve'
        ? [
            '--store-dir',
            path.join(work.dir, 'store'),
            '--checkpoint-dir',
            path.join(work.dir, 'checkpoints'),
          ]
        : [
            ...['--state-dir', path.join(work.dir, 'state'), '--no-create-topics'],
            ...['--store', 'embedded', '--store-dir', path.join(work.dir, 'store')],
          ];
    try {
      const { code, stderr } = await runCli(
        [
          command,
          ...['--kafka-brokers', brokers, '--kafka-retries', '0', '--kafka-sasl-mechanism', 'plain'],
          ...['--kafka-username', 'alice', '--kafka-password', secret, ...folders],
          ...['--ops-port', String(await freePort()), '--threads', '2'],
          ...['--log-level', 'trace', '--log-format', 'json'],
        ],
        90_000,
      );
      assert.ok(stderr.includes('alice'), 'the run reached the Kafka connection (the user name is logged)');
      assert.equal(code, 1, stderr.slice(-2_000));
      assert.ok(!stderr.includes(secret), 'the password is not in the log');
    } finally {
      await work.cleanup();
    }
  });
}

test('bahe run: a Qdrant API key passed by flag appears in no log line, even at trace level', async () => {
  const secret = `key-${randomBytes(12).toString('hex')}`;
  const work = await tempDir('bahe-secrets-');
  const url = `http://127.0.0.1:${await closedPort()}`;
  try {
    const { code, stderr } = await runCli(
      [
        'run',
        ...['--store', 'qdrant', '--qdrant-url', url, '--qdrant-api-key', secret, '--qdrant-retries', '1'],
        ...['--state-dir', path.join(work.dir, 'state'), '--max-impressions', '10'],
        ...['--log-level', 'trace', '--log-format', 'json'],
      ],
      90_000,
    );
    assert.equal(code, 1, stderr.slice(-2_000));
    assert.ok(stderr.includes(url), 'the run reached the Qdrant connection (its url is named)');
    assert.ok(!stderr.includes(secret), 'the API key is not in the log');
  } finally {
    await work.cleanup();
  }
});
