import assert from 'node:assert/strict';
import { copyFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { identifyBehavior } from '../../src/behavior/id.js';
import { OnnxEncoder } from '../../src/encoder/onnx-encoder.js';
import { type SideFeatureState, SideFeatures } from '../../src/features/side-features.js';
import type { LoadedModel } from '../../src/model/load.js';
import { ITEM_BEHAVIOR_TYPE } from '../../src/pipeline/impressions.js';
import { allocateBatch, fillBatch, type TrainingImpression } from '../../src/trainer/batch.js';
import { readCheckpointFile } from '../../src/trainer/checkpoint.js';
import { COMEDIES, THRILLERS, trainCheckpoints } from '../helpers/checkpoint.js';
import { tempDir } from '../helpers/data.js';
import { batchShapeOf, defaultModel, openTrainStep } from '../helpers/model.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js';
import { postPredict, type RunningScorer, startScorer } from '../helpers/scorer.js';

let model: LoadedModel;
let work: { dir: string; cleanup: () => Promise<void> };
/** Checkpoints after training steps 1 and 2, outside the watched folder. */
let trained: string[];
let watched: string;
let scorer: RunningScorer;

const REQUEST = {
  userId: 'u0',
  history: { liked: [COMEDIES[0], COMEDIES[3]], disliked: [THRILLERS[1]] },
  candidates: [
    { itemId: COMEDIES[1], text: COMEDIES[1] },
    { itemId: THRILLERS[0], text: THRILLERS[0] },
    { text: 'A title no one has seen (2031)' },
  ],
};

/** Publishes a checkpoint into the watched folder the way the trainer does: whole file, then rename. */
async function publish(source: string): Promise<void> {
  const temp = path.join(watched, '.incoming');
  await copyFile(source, temp);
  await rename(temp, path.join(watched, path.basename(source)));
}

before(async () => {
  model = await defaultModel();
  work = await tempDir('bahe-serve-');
  trained = (await trainCheckpoints(model, path.join(work.dir, 'trained'), 2)).paths;
  watched = path.join(work.dir, 'watched');
  await mkdir(watched);
  await publish(trained[0] as string);
  scorer = await startScorer(path.join(work.dir, 'store'), [
    ...['--model-updates', 'folder', '--checkpoint-dir', watched, '--watch-interval-ms', '100'],
  ]);
});

after(async () => {
  await scorer?.stop();
  await work?.cleanup();
});

test('POST /predict gives the probabilities the train step computes for the same impressions before its update', async () => {
  const { status, json } = await postPredict(scorer.url, REQUEST);
  assert.equal(status, 200);
  assert.equal(json.modelVersion, `${model.manifest.name}-step-1`);
  assert.equal(json.step, 1);
  assert.deepEqual(
    json.predictions.map((p) => p.itemId),
    [COMEDIES[1], THRILLERS[0], undefined],
  );

  // The reference: the trainer's own scoring path (train-step graph, pre-update logits) with the
  // checkpoint's parameters and side-feature statistics, over vectors from a separate encoder.
  const checkpoint = await readCheckpointFile(trained[0] as string);
  const features = SideFeatures.fromJSON(checkpoint.sideFeatures as SideFeatureState);
  const encoder = await OnnxEncoder.fromModel(model, { intraOpThreads: 2 });
  const graph = await openTrainStep(model);
  try {
    const history = [
      ...REQUEST.history.liked.map((text) => ({ type: 'liked', text: text as string })),
      ...REQUEST.history.disliked.map((text) => ({ type: 'disliked', text: text as string })),
    ];
    const refs = [
      ...history.map((h) => identifyBehavior(h.type, h.text)),
      ...REQUEST.candidates.map((c) => identifyBehavior(ITEM_BEHAVIOR_TYPE, c.text as string)),
    ];
    const encoded = await encoder.encode(refs.map((r) => r.text));
    const vectors = new Map(refs.map((r, i) => [r.id, encoded[i] as Float32Array]));
    const impressions: TrainingImpression[] = REQUEST.candidates.map((c) => ({
      userId: REQUEST.userId,
      itemId: c.itemId ?? '',
      itemBehaviorId: identifyBehavior(ITEM_BEHAVIOR_TYPE, c.text as string).id,
      history: history.map((h) => ({ type: h.type, behaviorId: identifyBehavior(h.type, h.text).id })),
      label: 0,
    }));
    const shape = batchShapeOf(model);
    const batch = allocateBatch(shape);
    fillBatch(
      shape,
      batch,
      impressions,
      (id) => vectors.get(id) as Float32Array,
      (row, out, offset) => {
        const impression = impressions[row] as TrainingImpression;
        features.write(impression.userId, impression.itemId, out, offset);
      },
    );
    const { logits } = await graph.run(checkpoint.parameters, batch);
    json.predictions.forEach((prediction, row) => {
      const expected = logits[row] as number;
      assert.ok(
        Math.abs(prediction.logit - expected) < 1e-4,
        `row ${row}: ${prediction.logit} vs ${expected}`,
      );
      assert.ok(Math.abs(prediction.probability - 1 / (1 + Math.exp(-expected))) < 1e-5);
    });
  } finally {
    await encoder.close();
    await graph.close();
  }
});

test('malformed requests get 4xx answers that name the field and what is accepted', async () => {
  const cases: Array<{
    body: unknown;
    status: number;
    field: string;
    message: RegExp;
    headers?: Record<string, string>;
  }> = [
    { body: '{"history":', status: 400, field: 'body', message: /not JSON/ },
    { body: [], status: 400, field: 'body', message: /JSON object/ },
    { body: { candidates: [] }, status: 400, field: 'candidates', message: /non-empty array/ },
    {
      body: { candidates: [{ text: 'x' }], histroy: {} },
      status: 400,
      field: 'histroy',
      message: /accepted: userId, history, candidates/,
    },
    {
      body: { history: { loved: [] }, candidates: [{ text: 'x' }] },
      status: 400,
      field: 'history.loved',
      message: /accepted: liked, disliked/,
    },
    {
      body: { history: { liked: 'Heat' }, candidates: [{ text: 'x' }] },
      status: 400,
      field: 'history.liked',
      message: /array/,
    },
    {
      body: { history: { liked: ['ok', 7] }, candidates: [{ text: 'x' }] },
      status: 400,
      field: 'history.liked[1]',
      message: /string/,
    },
    {
      body: { history: { liked: ['ok', '\u0000 \t'] }, candidates: [{ text: 'x' }] },
      status: 400,
      field: 'history.liked[1]',
      message: /history\.liked\[1\]/,
    },
    {
      body: { candidates: [{ text: '' }] },
      status: 400,
      field: 'candidates[0].text',
      message: /non-empty string/,
    },
    {
      body: { candidates: [{ text: 'x', itemId: 5 }] },
      status: 400,
      field: 'candidates[0].itemId',
      message: /string of 1 to 256/,
    },
    {
      body: { userId: '', candidates: [{ text: 'x' }] },
      status: 400,
      field: 'userId',
      message: /string of 1 to 256/,
    },
    {
      body: { candidates: Array.from({ length: 257 }, () => ({ text: 'x' })) },
      status: 400,
      field: 'candidates',
      message: /limit of 256/,
    },
    {
      body: {
        history: { liked: Array.from({ length: 1001 }, (_, i) => `t${i}`) },
        candidates: [{ text: 'x' }],
      },
      status: 400,
      field: 'history',
      message: /limit of 1000/,
    },
    {
      body: { candidates: [{ text: 'x'.repeat(2 * 1024 * 1024) }] },
      status: 413,
      field: 'body',
      message: /limit of 1048576 bytes/,
    },
    {
      body: { candidates: [{ text: 'x' }] },
      status: 415,
      field: 'content-type',
      message: /application\/json/,
      headers: { 'content-type': 'text/plain' },
    },
  ];
  for (const { body, status, field, message, headers } of cases) {
    const label = JSON.stringify(body).slice(0, 80);
    const answer = await postPredict(scorer.url, body, headers).catch((error: Error) => {
      throw new Error(`${label}: ${error.message} (${String((error.cause as Error | undefined)?.message)})`);
    });
    assert.equal(answer.status, status, label);
    assert.equal(answer.json.error?.code, 'BAHE_REQUEST_INVALID', label);
    assert.equal(answer.json.error?.field, field, label);
    assert.match(answer.json.error?.message ?? '', message, label);
  }
  assert.equal((await fetch(`${scorer.url}/predict`)).status, 405);
});

test('a new checkpoint in the watched folder is served without failing or dropping requests in flight', async () => {
  const before = await postPredict(scorer.url, REQUEST);
  assert.equal(before.json.step, 1);

  const answers: Array<{ status: number; step: number }> = [];
  let stop = false;
  const clients = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const { status, json } = await postPredict(scorer.url, REQUEST);
      answers.push({ status, step: json.step });
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await publish(trained[1] as string);
  const deadline = Date.now() + 30_000;
  while (!answers.some((a) => a.step === 2) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  stop = true;
  await Promise.all(clients);

  assert.ok(answers.length > 8, `only ${answers.length} requests were answered`);
  assert.deepEqual(
    answers.filter((a) => a.status !== 200),
    [],
  );
  const firstNew = answers.findIndex((a) => a.step === 2);
  assert.ok(firstNew > 0, 'requests were answered by both versions');

  const afterReload = await postPredict(scorer.url, REQUEST);
  assert.equal(afterReload.json.modelVersion, `${model.manifest.name}-step-2`);
  assert.notDeepEqual(
    afterReload.json.predictions.map((p) => p.logit),
    before.json.predictions.map((p) => p.logit),
  );

  const metrics = parsePrometheusText(await (await fetch(`${scorer.url}/metrics`)).text());
  assert.equal(sampleValue(metrics, 'bahe_model_version_step'), 2);
  assert.equal(
    sampleValue(metrics, 'bahe_model_version_info', { version: `${model.manifest.name}-step-2` }),
    1,
  );
  assert.equal(sampleValue(metrics, 'bahe_model_reloads_total', { outcome: 'loaded' }), 2);
  assert.ok((sampleValue(metrics, 'bahe_predict_requests_total', { status: '200' }) ?? 0) >= answers.length);
  assert.ok((sampleValue(metrics, 'bahe_encoder_batch_size_count') ?? 0) >= 1);
  assert.ok((sampleValue(metrics, 'bahe_store_latency_seconds_count', { operation: 'missing' }) ?? 0) >= 1);
  assert.ok((sampleValue(metrics, 'bahe_checkpoint_age_seconds') ?? -1) >= 0);
  assert.equal((await fetch(`${scorer.url}/readyz`)).status, 200);
});

test('a damaged checkpoint is refused and the served version stays', async () => {
  const damaged = path.join(watched, 'checkpoint-00000009-step-9.ckpt');
  await copyFile(trained[1] as string, `${damaged}.part`);
  const { open } = await import('node:fs/promises');
  const handle = await open(`${damaged}.part`, 'r+');
  await handle.write(Buffer.from('garbage'), 0, 7, 4096);
  await handle.close();
  await rename(`${damaged}.part`, damaged);

  const deadline = Date.now() + 10_000;
  let failed = 0;
  while (failed === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const metrics = parsePrometheusText(await (await fetch(`${scorer.url}/metrics`)).text());
    failed = sampleValue(metrics, 'bahe_model_reloads_total', { outcome: 'failed' }) ?? 0;
  }
  assert.equal(failed, 1);
  assert.equal((await postPredict(scorer.url, REQUEST)).json.step, 2);
});
