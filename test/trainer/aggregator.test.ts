import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openSession } from '../../src/encoder/ort-session.js';
import type { LoadedModel } from '../../src/model/load.js';
import { AggregatorGraph } from '../../src/trainer/aggregator.js';
import { allocateBatch } from '../../src/trainer/batch.js';
import type { TrainStepGraph } from '../../src/trainer/train-step.js';
import { batchShapeOf, defaultModel, openTrainStep } from '../helpers/model.js';
import { seededRandom } from '../helpers/random.js';

let model: LoadedModel;
let aggregator: AggregatorGraph;
let trainStep: TrainStepGraph;

before(async () => {
  model = await defaultModel();
  const session = await openSession(model.files.aggregator, { intraOpThreads: 2 });
  aggregator = new AggregatorGraph(session, model.manifest.parameters.entries, batchShapeOf(model));
  trainStep = await openTrainStep(model);
});

after(async () => {
  await aggregator?.close();
  await trainStep?.close();
});

test('the aggregator scores a batch exactly as the train step does before its update', async () => {
  const random = seededRandom(21);
  const batch = allocateBatch(batchShapeOf(model));
  for (const tensor of [batch.history, batch.item, batch.side]) {
    for (let i = 0; i < tensor.length; i += 1) tensor[i] = random() - 0.5;
  }
  for (let i = 0; i < batch.historyMask.length; i += 1) batch.historyMask[i] = random() < 0.7 ? 1 : 0;
  batch.weight.fill(1);
  const parameters = new Map(
    [...model.parameters].map(([name, value]) => [name, value.map((v) => v + (random() - 0.5) * 0.2)]),
  );

  const scored = await aggregator.score(parameters, batch);
  const { logits } = await trainStep.run(parameters, batch);
  assert.equal(scored.length, logits.length);
  for (let row = 0; row < logits.length; row += 1) {
    assert.ok(Math.abs((scored[row] as number) - (logits[row] as number)) < 1e-4, `row ${row}`);
  }
});
