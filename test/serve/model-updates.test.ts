import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EventCodec } from '../../src/events/codec.js';
import type { ModelUpdateEvent } from '../../src/events/types.js';
import type { LoadedModel } from '../../src/model/load.js';
import { trainCheckpoints } from '../helpers/checkpoint.js';
import { tempDir } from '../helpers/data.js';
import { type KafkaFixture, kafkaBrokers, kafkaFixture, kafkaSkip, testKafka } from '../helpers/kafka.js';
import { defaultModel } from '../helpers/model.js';
import { postPredict, type RunningScorer, startScorer } from '../helpers/scorer.js';

const noKafka = await kafkaSkip();

let model: LoadedModel;
let work: { dir: string; cleanup: () => Promise<void> };
let fixture: KafkaFixture;
let checkpoints: string[];
let scorer: RunningScorer | undefined;

const REQUEST = {
  history: { liked: ['Heat (1995)'] },
  candidates: [{ itemId: 'Fargo (1996)', text: 'Fargo (1996)' }],
};

async function announce(step: number, location: string): Promise<void> {
  const update: ModelUpdateEvent = {
    version: `${model.manifest.name}-step-${step}`,
    step,
    createdAtMs: Date.now(),
    metrics: {},
    location,
  };
  const producer = testKafka().producer();
  await producer.connect();
  await producer.send({
    topic: fixture.topic('model-updates'),
    messages: [{ key: model.manifest.name, value: new EventCodec().encode('ModelUpdateEvent', update) }],
  });
  await producer.disconnect();
}

async function servedStep(expected: number): Promise<number | undefined> {
  const deadline = Date.now() + 30_000;
  let step: number | undefined;
  while (Date.now() < deadline) {
    const { status, json } = await postPredict((scorer as RunningScorer).url, REQUEST);
    step = status === 200 ? json.step : undefined;
    if (step === expected) return step;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return step;
}

before(async () => {
  if (noKafka) return;
  model = await defaultModel();
  work = await tempDir('bahe-serve-kafka-');
  fixture = await kafkaFixture(['model-updates'], 1);
  checkpoints = (await trainCheckpoints(model, path.join(work.dir, 'trainer', 'checkpoints'), 2)).paths;
});

after(async () => {
  await scorer?.stop();
  await fixture?.cleanup();
  await work?.cleanup();
});

test('model-update events on Kafka load the version they name; an older one does not replace it', {
  skip: noKafka,
}, async () => {
  const empty = path.join(work.dir, 'no-checkpoints-here');
  await mkdir(empty);
  scorer = await startScorer(path.join(work.dir, 'store'), [
    ...['--model-updates', 'kafka', '--checkpoint-dir', empty],
    ...['--model-update-topic', fixture.topic('model-updates'), '--kafka-brokers', kafkaBrokers().join(',')],
  ]);
  assert.equal((await postPredict(scorer.url, REQUEST)).status, 503);
  const notReady = (await (await fetch(`${scorer.url}/readyz`)).json()) as {
    checks: Record<string, unknown>;
  };
  assert.deepEqual(notReady.checks.model, { ready: false, reason: 'no model version loaded yet' });

  await announce(1, checkpoints[0] as string);
  assert.equal(await servedStep(1), 1);
  assert.equal((await fetch(`${scorer.url}/readyz`)).status, 200);

  // A location that is not readable here is looked up by file name in the checkpoint folder.
  await announce(2, path.join('/elsewhere/on/the/trainer', path.basename(checkpoints[1] as string)));
  await announce(1, checkpoints[0] as string);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(
    (await postPredict(scorer.url, REQUEST)).json.step,
    1,
    'the unreadable location was not loaded',
  );

  await scorer.stop();
  scorer = await startScorer(path.join(work.dir, 'store-2'), [
    ...['--model-updates', 'kafka', '--checkpoint-dir', path.dirname(checkpoints[1] as string)],
    ...['--model-update-topic', fixture.topic('model-updates'), '--kafka-brokers', kafkaBrokers().join(',')],
  ]);
  // Starts on the folder's newest checkpoint, then reads every update: none is newer than step 2.
  assert.equal(await servedStep(2), 2);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal((await postPredict(scorer.url, REQUEST)).json.step, 2);
});
