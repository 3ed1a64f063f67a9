import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LoadedModel } from '../../src/model/load.js';
import { allocateBatch, type BatchTensors } from '../../src/trainer/batch.js';
import type { TrainStepGraph } from '../../src/trainer/train-step.js';
import { batchShapeOf, defaultModel, openTrainStep } from '../helpers/model.js';
import { seededRandom } from '../helpers/random.js';

let model: LoadedModel;
let graph: TrainStepGraph;
let batch: BatchTensors;
let parameters: Map<string, Float32Array>;

before(async () => {
  model = await defaultModel();
  graph = await openTrainStep(model);
  const random = seededRandom(11);
  const shape = batchShapeOf(model);
  batch = allocateBatch(shape);
  const slots = shape.rows * shape.behaviorTypes.length * shape.maxHistoryPerType;
  for (let i = 0; i < batch.history.length; i += 1) batch.history[i] = (random() - 0.5) * 0.4;
  for (let i = 0; i < slots; i += 1) batch.historyMask[i] = random() < 0.6 ? 1 : 0;
  for (let i = 0; i < batch.item.length; i += 1) batch.item[i] = (random() - 0.5) * 0.4;
  for (let i = 0; i < batch.side.length; i += 1) batch.side[i] = random() - 0.5;
  for (let row = 0; row < shape.rows; row += 1) {
    batch.label[row] = random() < 0.55 ? 1 : 0;
    batch.weight[row] = row < shape.rows - 10 ? 1 : 0;
  }

  // Move every parameter off its initial value: the head's last layer starts at zero, which would
  // leave the upper layers with an exactly-zero gradient and nothing to check.
  parameters = new Map();
  for (const [name, value] of model.parameters) {
    const scale = name.startsWith('head.mlp.2.') ? 1 : 0.1;
    parameters.set(
      name,
      value.map((v) => v + (random() - 0.5) * scale),
    );
  }
});

after(async () => {
  await graph?.close();
});

test('train-step gradients agree with central finite differences of its own loss', async () => {
  const { loss, gradients } = await graph.run(parameters, batch);
  assert.ok(Number.isFinite(loss) && loss > 0);

  const checked = [
    'head.wide.weight',
    'head.mlp.2.weight',
    'head.item_proj.weight',
    'upper.1.ffn.out.weight',
    'upper.0.attn.q.weight',
    'upper.position',
  ];
  const epsilon = 1e-2;
  for (const name of checked) {
    const gradient = gradients.get(name) as Float32Array;
    const value = parameters.get(name) as Float32Array;
    assert.equal(gradient.length, value.length, `gradient of ${name} has the parameter's size`);

    // The coordinate with the largest gradient gives a finite difference well above float32 noise.
    let index = 0;
    for (let i = 1; i < gradient.length; i += 1) {
      if (Math.abs(gradient[i] as number) > Math.abs(gradient[index] as number)) index = i;
    }
    const original = value[index] as number;
    value[index] = original + epsilon;
    const plus = (await graph.run(parameters, batch)).loss;
    value[index] = original - epsilon;
    const minus = (await graph.run(parameters, batch)).loss;
    value[index] = original;

    const numeric = (plus - minus) / (2 * epsilon);
    const analytic = gradient[index] as number;
    assert.ok(Math.abs(analytic) > 1e-4, `${name}: gradient ${analytic} too small to check`);
    const relative = Math.abs(numeric - analytic) / Math.abs(analytic);
    assert.ok(relative < 0.05, `${name}[${index}]: finite difference ${numeric} vs gradient ${analytic}`);
  }
});

test('padding rows (weight 0) do not change the loss or the gradients', async () => {
  const first = await graph.run(parameters, batch);
  const rows = batch.weight.length;
  const savedLabels = batch.label.slice();
  for (let row = rows - 10; row < rows; row += 1) batch.label[row] = 1 - (batch.label[row] as number);
  const second = await graph.run(parameters, batch);
  batch.label.set(savedLabels);

  assert.ok(Math.abs(first.loss - second.loss) < 1e-6);
  const a = first.gradients.get('head.mlp.2.weight') as Float32Array;
  const b = second.gradients.get('head.mlp.2.weight') as Float32Array;
  for (let i = 0; i < a.length; i += 1) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-6);
});
