import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { parseOptions } from '../../../src/config/options.js';
import { EventCodec } from '../../../src/events/codec.js';
import type { ModelUpdateEvent } from '../../../src/events/types.js';
import { silentLogger } from '../../../src/log.js';
import { PRODUCE_OPTION_SPECS } from '../../../src/produce/options.js';
import { runProduce } from '../../../src/produce/run.js';
import { TRAINER_OPTION_SPECS } from '../../../src/services/trainer/cli-options.js';
import type { KafkaSourcePosition } from '../../../src/services/trainer/ledger.js';
import { openTrainer } from '../../../src/services/trainer/run.js';
import { readLatestCheckpoint } from '../../../src/trainer/checkpoint.js';
import { datasetDir, repoRoot, tempDir } from '../../helpers/data.js';
import {
  consumeRecords,
  type KafkaFixture,
  kafkaBrokers,
  kafkaFixture,
  kafkaSkip,
} from '../../helpers/kafka.js';
import { assertTrainedExactlyOnce, endOffsets, waitFor as waitUntil } from '../../helpers/services.js';

const movielens = datasetDir('movielens-100k');
const noKafka = await kafkaSkip();
const TOPICS = ['behaviors', 'impressions', 'impressions.dlq', 'model-updates'];
const EVENTS = 700;
const IMPRESSIONS = EVENTS / 2;
const BATCH = 128;
const WAIT_MS = 90_000;

interface Setup {
  fixture: KafkaFixture;
  stateDir: string;
  cleanup: () => Promise<void>;
}

async function setUp(): Promise<Setup> {
  const fixture = await kafkaFixture(TOPICS);
  const dir = await tempDir('bahe-trainer-service-');
  const argv = [
    ...['--data', movielens.dir, '--max-events', String(EVENTS)],
    ...['--behavior-topic', fixture.topic('behaviors'), '--impression-topic', fixture.topic('impressions')],
    ...['--kafka-brokers', kafkaBrokers().join(',')],
  ];
  const produced = await runProduce(parseOptions(PRODUCE_OPTION_SPECS, argv, {}).options, silentLogger());
  assert.equal(produced.impressionEvents, IMPRESSIONS);
  return {
    fixture,
    stateDir: path.join(dir.dir, 'state'),
    cleanup: async () => {
      const admin = fixture.kafka.admin();
      await admin.connect();
      await admin.deleteGroups([`${fixture.groupId}-updates`]).catch(() => undefined);
      await admin.disconnect();
      await fixture.cleanup();
      await dir.cleanup();
    },
  };
}

/** The trainer's flags for this test's topics, group and state folder. */
function trainerArgs(setup: Setup, extra: string[]): string[] {
  const { fixture } = setup;
  return [
    ...[
      '--impression-topic',
      fixture.topic('impressions'),
      '--model-update-topic',
      fixture.topic('model-updates'),
    ],
    ...['--group-id', fixture.groupId, '--state-dir', setup.stateDir, '--threads', '2'],
    // No encoder service runs beside this trainer: it encodes missing vectors itself at once.
    ...['--store-wait-ms', '0'],
    ...['--store', 'embedded', '--store-dir', path.join(setup.stateDir, 'store')],
    ...['--session-timeout-ms', '10000', '--heartbeat-interval-ms', '500', '--fetch-max-wait-ms', '200'],
    ...['--kafka-brokers', kafkaBrokers().join(','), '--log-level', 'info', '--log-format', 'json'],
    ...extra,
  ];
}

/** Runs a trainer in this process until it has trained `samples` impressions in total, then stops it. */
async function trainUntil(setup: Setup, samples: number, extra: string[]) {
  const options = parseOptions(TRAINER_OPTION_SPECS, trainerArgs(setup, extra), {}).options;
  const { service, close } = await openTrainer(options, silentLogger());
  try {
    await service.start();
    await waitFor(`${samples} impressions are trained`, () => service.stats.totalSamples >= samples);
    await service.stop();
    await service.whenEnded();
    return service.stats;
  } finally {
    await service.stop();
    await close();
  }
}

function waitFor(what: string, check: () => boolean): Promise<void> {
  return waitUntil(what, check, WAIT_MS, 100);
}

/** Every model update on the topic, in the order published (one key, so one partition). */
async function modelUpdates(setup: Setup): Promise<ModelUpdateEvent[]> {
  const { fixture } = setup;
  const ends = await endOffsets(fixture, 'model-updates');
  const count = [...ends.values()].reduce((sum, end) => sum + end, 0);
  const records = await consumeRecords(
    fixture.kafka,
    [fixture.topic('model-updates')],
    `${fixture.groupId}-updates`,
    count,
  );
  const codec = new EventCodec();
  return records.map((record) => codec.decodeAs('ModelUpdateEvent', record.value as Buffer));
}

test('350 MovieLens impressions train in ceil(350 / 128) steps, each offset once, with a model update per checkpoint', {
  skip: movielens.skip || noKafka,
  timeout: 180_000,
}, async (t) => {
  const setup = await setUp();
  try {
    const stats = await trainUntil(setup, IMPRESSIONS, [
      '--batch-max-wait-ms',
      '1500',
      '--checkpoint-every-steps',
      '2',
    ]);
    assert.equal(stats.totalSteps, Math.ceil(IMPRESSIONS / BATCH));
    assert.equal(stats.steps, 3);
    assert.equal(stats.impressionsRead, IMPRESSIONS);
    assert.equal(stats.deadLettered, 0);
    assert.equal(stats.checkpointsWritten, 2, 'one at step 2, one on stop');
    assert.ok(stats.encoded > 0, 'vectors missing from the store were encoded read-through');

    const latest = await readLatestCheckpoint(path.join(setup.stateDir, 'checkpoints'));
    assert.ok(latest);
    assert.equal(latest.path, stats.lastCheckpointPath);
    await assertTrainedExactlyOnce(
      setup.fixture,
      latest.checkpoint.sourcePosition as KafkaSourcePosition,
      latest.checkpoint.samplesSeen,
      IMPRESSIONS,
    );

    const updates = await modelUpdates(setup);
    assert.equal(updates.length, stats.checkpointsWritten);
    assert.deepEqual(
      updates.map((u) => u.step),
      [2, 3],
    );
    const last = updates.at(-1) as ModelUpdateEvent;
    assert.equal(last.location, latest.path);
    assert.equal(last.metrics.samples, IMPRESSIONS);
    assert.ok(last.metrics.auc !== undefined && last.metrics.auc > 0 && last.metrics.auc < 1);
    assert.ok(last.metrics.logLoss !== undefined && last.metrics.logLoss > 0);
    t.diagnostic(
      `running AUC ${last.metrics.auc.toFixed(4)}, ${stats.encoded} behaviors encoded read-through`,
    );
  } finally {
    await setup.cleanup();
  }
});

test('a trainer killed with SIGKILL after its first checkpoint is resumed by the next: every impression trained exactly once', {
  skip: movielens.skip || noKafka,
  timeout: 240_000,
}, async (t) => {
  const setup = await setUp();
  const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
  // A batch wait longer than the test keeps the short tail untrained, so the kill lands mid-stream.
  const args = trainerArgs(setup, ['--batch-max-wait-ms', '600000', '--checkpoint-every-steps', '1']);
  const child = spawn(process.execPath, [cli, 'trainer', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    let published = false;
    let log = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      log += chunk;
      if (!published && log.includes('"msg":"model update published"')) {
        published = true;
        child.kill('SIGKILL');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
    const ended = await exited;
    clearTimeout(timer);
    assert.equal(
      published,
      true,
      `the first trainer published a checkpoint before it was killed; its log:\n${log.slice(-2000)}`,
    );
    assert.equal(ended, 'SIGKILL');

    const crashed = await readLatestCheckpoint(path.join(setup.stateDir, 'checkpoints'));
    assert.ok(crashed);
    const samplesAtCrash = crashed.checkpoint.samplesSeen;
    assert.ok(samplesAtCrash > 0 && samplesAtCrash < IMPRESSIONS, `crashed mid-stream at ${samplesAtCrash}`);

    const stats = await trainUntil(setup, IMPRESSIONS, [
      '--batch-max-wait-ms',
      '1500',
      '--checkpoint-every-steps',
      '2',
    ]);
    assert.equal(stats.totalSteps, Math.ceil(IMPRESSIONS / BATCH));
    assert.equal(stats.totalSamples, IMPRESSIONS);
    assert.equal(
      stats.impressionsRead,
      IMPRESSIONS - samplesAtCrash,
      'the second trainer read on from the checkpoint',
    );

    const latest = await readLatestCheckpoint(path.join(setup.stateDir, 'checkpoints'));
    assert.ok(latest);
    await assertTrainedExactlyOnce(
      setup.fixture,
      latest.checkpoint.sourcePosition as KafkaSourcePosition,
      latest.checkpoint.samplesSeen,
      IMPRESSIONS,
    );

    // The killed trainer's announcements, the resumed checkpoint's repeat, then the second trainer's own.
    const updates = await modelUpdates(setup);
    assert.ok(updates.length > stats.modelUpdatesPublished);
    assert.ok(updates.some((u) => u.location === crashed.path && u.step === crashed.checkpoint.step));
    assert.equal(updates.at(-1)?.location, latest.path);
    assert.equal(updates.at(-1)?.step, 3);
    t.diagnostic(`killed at ${samplesAtCrash} trained impressions; resumed and finished at ${IMPRESSIONS}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await setup.cleanup();
  }
});
