/**
 * bahe-stream/testing against the real service image and the tests' real broker: the encoder
 * container is wired to the broker and to an embedded store folder on this host, and is ready once
 * startBaheStream resolves. Without a container runtime or the image (as in CI by default), the
 * container tests skip, saying how to enable them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isBaheError } from '../../src/errors.js';
import { type StartBaheStreamOptions, startBaheStream } from '../../src/testing/index.js';
import {
  containersLabelled,
  SERVICE_IMAGE as IMAGE,
  serviceContainerSkip,
  testRunLabel,
} from '../helpers/containers.js';
import { datasetDir, repoRoot, tempDir } from '../helpers/data.js';
import { kafkaBrokers, kafkaFixture } from '../helpers/kafka.js';
import { movieLensBehaviorIds, openStoreReader, produceMovieLens, waitFor } from '../helpers/services.js';

const movielens = datasetDir('movielens-100k');
const EVENTS = 200;
const WAIT_MS = 120_000;

const containerSkip = await serviceContainerSkip();

test('the package exports bahe-stream/testing with its type declarations', async () => {
  // A name held in a variable: the type check must not need dist/ before it is built.
  const specifier = 'bahe-stream/testing';
  const resolved = fileURLToPath(import.meta.resolve(specifier));
  assert.equal(resolved, path.join(repoRoot, 'dist', 'src', 'testing', 'index.js'));
  assert.ok(existsSync(resolved.replace(/\.js$/, '.d.ts')), 'index.d.ts is built beside index.js');
  const exported = (await import(specifier)) as Record<string, unknown>;
  assert.equal(typeof exported.startBaheStream, 'function');
  assert.equal(typeof exported.baheStreamSkipReason, 'function');
});

test('startBaheStream refuses bad options before starting anything, naming the field', async () => {
  const base: StartBaheStreamOptions = {
    command: 'encoder',
    kafkaBrokers: '127.0.0.1:1',
    store: { dir: '/tmp/x' },
  };
  const refused = async (options: StartBaheStreamOptions, field: string) =>
    assert.rejects(startBaheStream(options), (err: unknown) => {
      assert.ok(isBaheError(err, 'BAHE_CONFIG_INVALID'), String(err));
      assert.equal(err.context.field, field);
      return true;
    });

  await refused({ ...base, command: 'trainer' }, 'stateDir');
  await refused({ ...base, kafkaBrokers: ' , ' }, 'kafkaBrokers');
  await refused({ ...base, opsPort: 70_000 }, 'opsPort');
  await refused({ ...base, store: { qdrantUrl: 'qdrant:6333' } }, 'store.qdrantUrl');
});

test('startBaheStream starts the encoder image wired to the broker and a store folder, ready on return; it encodes what is produced and stops with status 0', {
  skip: containerSkip || movielens.skip,
  timeout: 4 * WAIT_MS,
}, async (t) => {
  const fixture = await kafkaFixture(['behaviors', 'impressions', 'refs']);
  const dir = await tempDir('bahe-testing-');
  t.after(async () => {
    await fixture.cleanup();
    await dir.cleanup();
  });
  const storeDir = path.join(dir.dir, 'store');
  const run = testRunLabel();

  const bahe = await startBaheStream({
    command: 'encoder',
    image: IMAGE,
    kafkaBrokers: kafkaBrokers(),
    store: { dir: storeDir },
    env: {
      BAHE_BEHAVIOR_TOPIC: fixture.topic('behaviors'),
      BAHE_IMPRESSION_TOPIC: fixture.topic('impressions'),
      BAHE_REFS_TOPIC: fixture.topic('refs'),
      BAHE_GROUP_ID: fixture.groupId,
      BAHE_THREADS: '1',
    },
    labels: run.labels,
    startupTimeoutMs: WAIT_MS,
  });
  t.after(() => bahe.stop());

  const readyz = await fetch(`${bahe.url}/readyz`);
  assert.equal(readyz.status, 200, await readyz.text());

  await produceMovieLens(fixture, movielens.dir, EVENTS);
  const reader = await openStoreReader(storeDir);
  try {
    const expected = [...(await movieLensBehaviorIds(movielens.dir, EVENTS))];
    await waitFor(
      'the container stored every behavior of the produced events',
      async () => (await reader.missing(expected)).length === 0,
      WAIT_MS,
      500,
    );
  } finally {
    await reader.close();
  }

  const { exitCode } = await bahe.stop();
  assert.equal(exitCode, 0, `the encoder stopped cleanly; its log ends:\n${bahe.logs().slice(-3000)}`);
  assert.match(bahe.logs(), /"msg":"ops server stopped"/);
  assert.deepEqual(await containersLabelled(run.filter), [], 'stop removed it');
});

test('startBaheStream fails with BAHE_CONTAINER_FAILED and the service log when the service exits before it is ready, and leaves no container behind', {
  skip: containerSkip,
  timeout: 2 * WAIT_MS,
}, async (t) => {
  // Topics that do not exist, and none created: the encoder cannot subscribe and exits with status 1.
  const missing = `test.${randomBytes(4).toString('hex')}.missing`;
  const run = testRunLabel();
  const dir = await tempDir('bahe-testing-');
  t.after(() => dir.cleanup());
  await assert.rejects(
    startBaheStream({
      command: 'encoder',
      image: IMAGE,
      kafkaBrokers: kafkaBrokers(),
      store: { dir: path.join(dir.dir, 'store') },
      env: {
        BAHE_BEHAVIOR_TOPIC: `${missing}.behaviors`,
        BAHE_IMPRESSION_TOPIC: `${missing}.impressions`,
        BAHE_REFS_TOPIC: `${missing}.refs`,
        BAHE_GROUP_ID: `test-group-${randomBytes(4).toString('hex')}`,
        BAHE_CREATE_TOPICS: 'false',
      },
      labels: run.labels,
      startupTimeoutMs: WAIT_MS,
    }),
    (err: unknown) => {
      assert.ok(isBaheError(err, 'BAHE_CONTAINER_FAILED'), String(err));
      assert.match(err.message, /exited with status [1-9]\d* before/);
      assert.match(err.message, /BAHE_KAFKA_FAILED/);
      return true;
    },
  );
  assert.deepEqual(await containersLabelled(run.filter), []);
});
