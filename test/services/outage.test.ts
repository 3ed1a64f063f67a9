/**
 * A broker outage under a running encoder service: a broker of the test's own (the local KRaft
 * script on free ports) is stopped mid-stream and started again on the same data. The service must
 * say it is not ready while the broker is gone, stay up, and then finish the stream without losing
 * or repeating work.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseOptions } from '../../src/config/options.js';
import { silentLogger } from '../../src/log.js';
import { PRODUCE_OPTION_SPECS } from '../../src/produce/options.js';
import { runProduce } from '../../src/produce/run.js';
import type { EncoderServiceStats } from '../../src/services/encoder/service.js';
import { datasetDir, repoRoot, tempDir } from '../helpers/data.js';
import { freePort } from '../helpers/net.js';
import { movieLensBehaviorIds, openStoreReader, waitFor } from '../helpers/services.js';

const run = promisify(execFile);
const movielens = datasetDir('movielens-100k');
const noJava =
  spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0
    ? false
    : 'java is not installed; the outage test starts a broker of its own from the Kafka jars';
const FIRST = 600;
const ALL = 1_200;
const WAIT_MS = 90_000;
const CLI = path.join(repoRoot, 'dist', 'src', 'cli.js');
const SCRIPTS = path.join(repoRoot, 'scripts', 'kafka');

/** Two consecutive free ports, for the broker and its KRaft controller. */
async function brokerPorts(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await freePort();
    if (port < 65_535 && (await isFree(port + 1))) return port;
  }
  throw new Error('no two consecutive free ports on 127.0.0.1');
}

async function isFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Starts or stops this test's broker with the repository's scripts. */
async function broker(action: 'start' | 'stop', env: NodeJS.ProcessEnv, extra: string[] = []): Promise<void> {
  await run('bash', [path.join(SCRIPTS, `${action}.sh`), ...extra], { env, timeout: WAIT_MS });
}

async function readiness(opsPort: number): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

async function produce(brokers: string, topics: { behaviors: string; impressions: string }, events: number) {
  const argv = [
    ...['--data', movielens.dir, '--max-events', String(events), '--kafka-brokers', brokers],
    ...['--behavior-topic', topics.behaviors, '--impression-topic', topics.impressions],
  ];
  return runProduce(parseOptions(PRODUCE_OPTION_SPECS, argv, {}).options, silentLogger());
}

test('an encoder service stays up through a broker outage, is not ready while it lasts, and then finishes the stream with each behavior encoded once', {
  skip: movielens.skip || noJava,
  timeout: 8 * WAIT_MS,
}, async (t) => {
  const dir = await tempDir('bahe-outage-');
  const port = await brokerPorts();
  const env = {
    ...process.env,
    BAHE_KAFKA_PORT: String(port),
    BAHE_KAFKA_STATE_DIR: path.join(dir.dir, 'kafka'),
  };
  const brokers = `127.0.0.1:${port}`;
  const topics = { behaviors: 'outage.behaviors', impressions: 'outage.impressions' };
  const storeDir = path.join(dir.dir, 'store');
  const opsPort = await freePort();
  let encoder: ChildProcess | undefined;
  let log = '';
  try {
    await broker('start', env);
    // The events come first, so their topics exist when the encoder subscribes.
    await produce(brokers, topics, FIRST);
    encoder = spawn(
      process.execPath,
      [
        CLI,
        'encoder',
        ...['--kafka-brokers', brokers, '--behavior-topic', topics.behaviors],
        ...['--impression-topic', topics.impressions, '--refs-topic', 'outage.refs'],
        ...['--store', 'embedded', '--store-dir', storeDir, '--ops-port', String(opsPort)],
        ...['--threads', '1', '--session-timeout-ms', '10000', '--heartbeat-interval-ms', '500'],
        ...['--fetch-max-wait-ms', '200', '--max-consumer-restarts', '1000'],
        ...['--log-format', 'json'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = once(encoder, 'exit');
    let stdout = '';
    encoder.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    encoder.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log = (log + chunk).slice(-20_000);
      if (process.env.BAHE_TEST_ENCODER_LOG !== undefined)
        appendFileSync(process.env.BAHE_TEST_ENCODER_LOG, chunk);
    });
    await waitFor('the encoder is ready', async () => (await readiness(opsPort)).status === 200, WAIT_MS);
    const reader = await openStoreReader(storeDir);
    try {
      const first = await movieLensBehaviorIds(movielens.dir, FIRST);
      await waitFor(
        'the behaviors of the first events are stored',
        async () => (await reader.missing([...first])).length === 0,
        WAIT_MS,
      );

      await broker('stop', env);
      await waitFor(
        '/readyz reports the broker unreachable',
        async () => {
          const { status, body } = await readiness(opsPort);
          return status === 503 && /broker/.test(body);
        },
        WAIT_MS,
        500,
      );
      // The outage lasts a while: the service keeps retrying and does not exit.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      assert.equal(
        encoder.exitCode,
        null,
        `the encoder exited during the outage; its log ends:\n${log.slice(-3000)}`,
      );

      await broker('start', env);
      await waitFor(
        'the encoder is ready again',
        async () => (await readiness(opsPort)).status === 200,
        WAIT_MS,
      );
      // All events again: the first ones are repeats, whose behaviors are stored already.
      await produce(brokers, topics, ALL);
      const all = await movieLensBehaviorIds(movielens.dir, ALL);
      await waitFor(
        'every behavior is stored',
        async () => (await reader.missing([...all])).length === 0,
        WAIT_MS,
      );

      encoder.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, `the encoder stopped cleanly; its log ends:\n${log.slice(-3000)}`);
      const stats = JSON.parse(stdout.trim().split('\n').at(-1) as string) as EncoderServiceStats;
      assert.equal(stats.encoded, all.size, 'each behavior was encoded once, the outage notwithstanding');
      assert.equal(stats.deadLettered, 0);
      assert.equal(await reader.count(), all.size);
      const restarts = (log.match(/restarting it/g) ?? []).length;
      t.diagnostic(`${all.size} behaviors encoded once each; the consumer restarted ${restarts} times`);
    } finally {
      await reader.close();
    }
  } catch (error) {
    throw new Error(`${(error as Error).message}; the encoder's log ends:\n${log.slice(-4000)}`, {
      cause: error,
    });
  } finally {
    if (encoder !== undefined && encoder.exitCode === null && encoder.signalCode === null) {
      encoder.kill('SIGKILL');
    }
    await broker('stop', env, ['--purge']).catch(() => undefined);
    await dir.cleanup();
  }
});
