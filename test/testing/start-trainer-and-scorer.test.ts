/**
 * bahe-stream/testing with the trainer and the scorer of the real service image, against the tests'
 * real broker: the trainer trains the produced impressions into checkpoints in the mounted state
 * folder, and the scorer serves a state folder's checkpoint on /predict. Without a container runtime
 * or the image (as in CI by default), these tests skip, saying how to enable them.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { KafkaSourcePosition } from '../../src/services/trainer/ledger.js';
import { type StartedBaheStream, startBaheStream } from '../../src/testing/index.js';
import { readLatestCheckpoint } from '../../src/trainer/checkpoint.js';
import { COMEDIES, THRILLERS, trainCheckpoints } from '../helpers/checkpoint.js';
import {
  containersLabelled,
  SERVICE_IMAGE,
  serviceContainerSkip,
  testRunLabel,
} from '../helpers/containers.js';
import { datasetDir, tempDir } from '../helpers/data.js';
import { kafkaBrokers, kafkaFixture } from '../helpers/kafka.js';
import { defaultModel } from '../helpers/model.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js';
import { postPredict, startScorer } from '../helpers/scorer.js';
import { assertTrainedExactlyOnce, produceMovieLens, waitFor } from '../helpers/services.js';

const movielens = datasetDir('movielens-100k');
/** Half behavior events, half impressions: 150 impressions, one full micro-batch and a short one. */
const EVENTS = 300;
const IMPRESSIONS = EVENTS / 2;
const WAIT_MS = 120_000;

const containerSkip = await serviceContainerSkip();

/** The value of an unlabelled sample on the service's /metrics. */
async function metric(service: StartedBaheStream, name: string): Promise<number | undefined> {
  const response = await fetch(`${service.url}/metrics`);
  assert.equal(response.status, 200);
  return sampleValue(parsePrometheusText(await response.text()), name);
}

/** Starts `command` from the image under test on one thread, with `state/` and `store/` folders in `dir`. */
function startWithFolders(
  command: 'trainer' | 'serve',
  dir: string,
  labels: Record<string, string>,
  env: Record<string, string>,
): Promise<StartedBaheStream> {
  return startBaheStream({
    command,
    image: SERVICE_IMAGE,
    kafkaBrokers: kafkaBrokers(),
    store: { dir: path.join(dir, 'store') },
    stateDir: path.join(dir, 'state'),
    env: { BAHE_THREADS: '1', ...env },
    labels,
    startupTimeoutMs: WAIT_MS,
  });
}

/** Stops the container and asserts that it exited with status 0 and was removed. */
async function assertStoppedCleanly(service: StartedBaheStream, filter: string): Promise<void> {
  const { exitCode } = await service.stop();
  assert.equal(exitCode, 0, `the service stopped cleanly; its log ends:\n${service.logs().slice(-3000)}`);
  assert.match(service.logs(), /"msg":"ops server stopped"/);
  assert.deepEqual(await containersLabelled(filter), [], 'stop removed the container');
}

test('startBaheStream starts the trainer image with a state folder and a store folder: it trains every produced impression once, checkpoints into the mounted folder and stops with status 0', {
  skip: containerSkip || movielens.skip,
  timeout: 3 * WAIT_MS,
}, async (t) => {
  const fixture = await kafkaFixture(['behaviors', 'impressions', 'impressions.dlq', 'model-updates']);
  const dir = await tempDir('bahe-testing-trainer-');
  t.after(async () => {
    await fixture.cleanup();
    await dir.cleanup();
  });
  const run = testRunLabel();

  const trainer = await startWithFolders('trainer', dir.dir, run.labels, {
    BAHE_IMPRESSION_TOPIC: fixture.topic('impressions'),
    BAHE_MODEL_UPDATE_TOPIC: fixture.topic('model-updates'),
    BAHE_GROUP_ID: fixture.groupId,
    // No encoder service runs beside this trainer: it encodes missing vectors itself at once.
    BAHE_STORE_WAIT_MS: '0',
    BAHE_BATCH_MAX_WAIT_MS: '1500',
    BAHE_CHECKPOINT_EVERY_STEPS: '1',
  });
  t.after(() => trainer.stop());
  assert.equal(await metric(trainer, 'bahe_training_samples_total'), 0, 'nothing trained before producing');

  await produceMovieLens(fixture, movielens.dir, EVENTS);
  await waitFor(
    `the trainer container trained the ${IMPRESSIONS} produced impressions`,
    async () => (await metric(trainer, 'bahe_training_samples_total')) === IMPRESSIONS,
    WAIT_MS,
    500,
  );
  const steps = (await metric(trainer, 'bahe_training_steps_total')) ?? 0;
  assert.ok(steps >= 2, `${IMPRESSIONS} impressions take two micro-batches of 128 at least; took ${steps}`);
  await assertStoppedCleanly(trainer, run.filter);

  const latest = await readLatestCheckpoint(path.join(dir.dir, 'state', 'checkpoints'));
  assert.ok(latest, 'the trainer wrote its checkpoints into the mounted state folder');
  assert.equal(latest.checkpoint.step, steps);
  await assertTrainedExactlyOnce(
    fixture,
    latest.checkpoint.sourcePosition as KafkaSourcePosition,
    latest.checkpoint.samplesSeen,
    IMPRESSIONS,
  );
  t.diagnostic(`${steps} steps trained in the container; latest checkpoint ${path.basename(latest.path)}`);
});

test("startBaheStream starts the scorer image on a state folder's checkpoint: /predict answers the probabilities the same checkpoint gives in this process, and it stops with status 0", {
  skip: containerSkip,
  timeout: 3 * WAIT_MS,
}, async (t) => {
  const fixture = await kafkaFixture(['model-updates'], 1);
  const dir = await tempDir('bahe-testing-scorer-');
  t.after(async () => {
    await fixture.cleanup();
    await dir.cleanup();
  });
  const checkpointDir = path.join(dir.dir, 'state', 'checkpoints');
  await trainCheckpoints(await defaultModel(), checkpointDir, 1);
  const latest = await readLatestCheckpoint(checkpointDir);
  assert.ok(latest);
  const run = testRunLabel();

  const scorer = await startWithFolders('serve', dir.dir, run.labels, {
    BAHE_MODEL_UPDATE_TOPIC: fixture.topic('model-updates'),
  });
  t.after(() => scorer.stop());

  const request = {
    history: { liked: COMEDIES.slice(0, 2) },
    candidates: [COMEDIES[3], THRILLERS[0]].map((title) => ({ itemId: title, text: title })),
  };
  const served = await postPredict(scorer.url, request);
  assert.equal(served.status, 200, JSON.stringify(served.json));
  assert.equal(served.json.step, latest.checkpoint.step);
  assert.deepEqual(
    served.json.predictions.map((p) => p.itemId),
    request.candidates.map((c) => c.itemId),
  );
  for (const { probability } of served.json.predictions) {
    assert.ok(probability > 0 && probability < 1, `a probability, got ${probability}`);
  }

  const local = await startScorer(path.join(dir.dir, 'local-store'), [
    ...['--model-updates', 'folder', '--checkpoint-dir', checkpointDir, '--threads', '1'],
  ]);
  let expected: Awaited<ReturnType<typeof postPredict>>;
  try {
    expected = await postPredict(local.url, request);
  } finally {
    await local.stop();
  }
  assert.equal(expected.status, 200);
  served.json.predictions.forEach((p, i) => {
    const inProcess = expected.json.predictions[i]?.probability ?? Number.NaN;
    assert.ok(Math.abs(p.probability - inProcess) < 1e-5, `${p.itemId}: ${p.probability} vs ${inProcess}`);
  });

  await assertStoppedCleanly(scorer, run.filter);
  t.diagnostic(`served ${served.json.predictions.map((p) => p.probability.toFixed(4)).join(', ')}`);
});
