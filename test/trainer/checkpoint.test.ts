import assert from 'node:assert/strict';
import { open, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, type TestContext, test } from 'node:test';
import { pino } from 'pino';
import { isBaheError } from '../../src/errors.js';
import { AdamW } from '../../src/trainer/adamw.js';
import {
  type Checkpoint,
  type ModelIdentity,
  parameterLayoutSha256,
  readLatestCheckpoint,
  writeCheckpoint,
} from '../../src/trainer/checkpoint.js';
import { tempDir } from '../helpers/data.js';

const HEAD = { name: 'head.bias', shape: [1] };
const LAYOUT = [{ name: 'upper.0.weight', shape: [4, 3] }, HEAD];
const MODEL: ModelIdentity = {
  modelName: 'test-model',
  encoderVersion: 'e-0123456789ab',
  layoutSha256: parameterLayoutSha256(LAYOUT),
};

async function checkpointDir(t: TestContext): Promise<string> {
  const { dir, cleanup } = await tempDir('bahe-ckpt-');
  t.after(cleanup);
  return path.join(dir, 'checkpoints');
}

/** Parameters with distinct values, and an optimizer that has taken `steps` real AdamW steps. */
function trainedState(steps: number): { parameters: Map<string, Float32Array>; optimizer: AdamW } {
  const parameters = new Map(
    LAYOUT.map(({ name, shape }, p) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return [name, Float32Array.from({ length: size }, (_, i) => Math.sin(p * 10 + i))];
    }),
  );
  const optimizer = new AdamW(parameters);
  for (let step = 0; step < steps; step += 1)
    optimizer.step(parameters, gradientsFor(parameters, step), () => 0.01);
  return { parameters, optimizer };
}

function gradientsFor(parameters: Map<string, Float32Array>, step: number): Map<string, Float32Array> {
  return new Map([...parameters].map(([name, value]) => [name, value.map((v, i) => Math.cos(v + i + step))]));
}

function makeCheckpoint(step: number): Checkpoint {
  const { parameters, optimizer } = trainedState(2);
  return {
    model: MODEL,
    step,
    samplesSeen: step * 128,
    parameters,
    optimizer: optimizer.state,
    sourcePosition: { 'bahe.impressions': { '0': '1234', '3': '99' } },
    metrics: { scores: [0.25, 0.75], labels: [0, 1], logLossSum: 0.5 },
    sideFeatures: { priorStrength: 10, global: { seen: 2, positive: 1 }, users: {}, items: {} },
  };
}

function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

async function flipByte(file: string, fromEnd: number): Promise<void> {
  const size = (await stat(file)).size;
  const handle = await open(file, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, size - fromEnd);
  byte[0] = (byte[0] as number) ^ 0xff;
  await handle.write(byte, 0, 1, size - fromEnd);
  await handle.close();
}

describe('checkpoints', () => {
  test('a checkpoint reads back exactly, and resuming AdamW from it matches never stopping', async (t) => {
    const dir = await checkpointDir(t);
    const written = makeCheckpoint(7);
    const result = await writeCheckpoint(dir, written);
    assert.equal(result.sequence, 1);
    assert.equal(path.basename(result.path), 'checkpoint-00000001-step-7.ckpt');

    const latest = await readLatestCheckpoint(dir, { expectedModel: MODEL });
    assert.ok(latest !== null);
    assert.equal(latest.path, result.path);
    assert.deepEqual(latest.skipped, []);
    assert.deepEqual(latest.checkpoint, written);

    const uninterrupted = trainedState(3);
    const resumedParameters = latest.checkpoint.parameters;
    const resumed = new AdamW(resumedParameters, {}, latest.checkpoint.optimizer);
    resumed.step(resumedParameters, gradientsFor(resumedParameters, 2), () => 0.01);
    assert.deepEqual(resumedParameters, uninterrupted.parameters);
  });

  test('an empty or absent folder has no checkpoint', async (t) => {
    const dir = await checkpointDir(t);
    assert.equal(await readLatestCheckpoint(dir), null);
  });

  test('a temp file left by a crash mid-write is ignored when reading and removed by the next write', async (t) => {
    const dir = await checkpointDir(t);
    await writeCheckpoint(dir, makeCheckpoint(1));
    const leftover = path.join(dir, '.checkpoint-2.tmp-4242-deadbeef');
    await writeFile(leftover, 'BAHECKPT half written');

    const latest = await readLatestCheckpoint(dir);
    assert.equal(latest?.checkpoint.step, 1);
    assert.deepEqual(latest?.skipped, []);

    await writeCheckpoint(dir, makeCheckpoint(2));
    assert.deepEqual((await readdir(dir)).sort(), [
      'checkpoint-00000001-step-1.ckpt',
      'checkpoint-00000002-step-2.ckpt',
    ]);
  });

  test('a corrupt newest checkpoint falls back to the one before it with a warning', async (t) => {
    const dir = await checkpointDir(t);
    await writeCheckpoint(dir, makeCheckpoint(10));
    const newest = await writeCheckpoint(dir, makeCheckpoint(20));
    await flipByte(newest.path, 5);

    const { logger, lines } = capturingLogger();
    const latest = await readLatestCheckpoint(dir, { expectedModel: MODEL, logger });
    assert.equal(latest?.checkpoint.step, 10);
    assert.equal(latest?.skipped.length, 1);
    assert.equal(latest?.skipped[0]?.path, newest.path);
    assert.match(latest?.skipped[0]?.reason ?? '', /body checksum mismatch/);
    assert.ok(lines.some((line) => line.level === 40 && /unreadable/.test(line.msg)));
  });

  test('a newest checkpoint cut short by a crash also falls back', async (t) => {
    const dir = await checkpointDir(t);
    await writeCheckpoint(dir, makeCheckpoint(10));
    const newest = await writeCheckpoint(dir, makeCheckpoint(20));
    const handle = await open(newest.path, 'r+');
    await handle.truncate(60);
    await handle.close();

    const latest = await readLatestCheckpoint(dir);
    assert.equal(latest?.checkpoint.step, 10);
    assert.match(latest?.skipped[0]?.reason ?? '', /header runs past the end/);
  });

  test('when every checkpoint is damaged reading fails instead of silently starting over', async (t) => {
    const dir = await checkpointDir(t);
    const only = await writeCheckpoint(dir, makeCheckpoint(10));
    await flipByte(only.path, 1);
    await assert.rejects(readLatestCheckpoint(dir), (error) => {
      assert.ok(isBaheError(error, 'BAHE_CHECKPOINT_INVALID'));
      assert.match(error.message, /fresh checkpoint dir/);
      return true;
    });
  });

  test('a checkpoint of another model or parameter layout is refused', async (t) => {
    const dir = await checkpointDir(t);
    await writeCheckpoint(dir, makeCheckpoint(3));
    const otherLayout = parameterLayoutSha256([{ name: 'upper.0.weight', shape: [3, 4] }, HEAD]);
    assert.notEqual(otherLayout, MODEL.layoutSha256);

    for (const expectedModel of [
      { ...MODEL, layoutSha256: otherLayout },
      { ...MODEL, modelName: 'other' },
    ]) {
      await assert.rejects(readLatestCheckpoint(dir, { expectedModel }), (error) => {
        assert.ok(isBaheError(error, 'BAHE_CHECKPOINT_INVALID'));
        assert.match(error.message, /use a fresh checkpoint dir for this model, or run the model/);
        return true;
      });
    }
  });

  test('only the newest checkpoints are kept', async (t) => {
    const dir = await checkpointDir(t);
    for (let step = 1; step <= 5; step += 1) await writeCheckpoint(dir, makeCheckpoint(step * 100));
    assert.deepEqual((await readdir(dir)).sort(), [
      'checkpoint-00000003-step-300.ckpt',
      'checkpoint-00000004-step-400.ckpt',
      'checkpoint-00000005-step-500.ckpt',
    ]);

    await writeCheckpoint(dir, makeCheckpoint(600), { keep: 1 });
    assert.deepEqual(await readdir(dir), ['checkpoint-00000006-step-600.ckpt']);
    await assert.rejects(
      writeCheckpoint(dir, makeCheckpoint(700), { keep: 0 }),
      /keep must be an integer >= 1/,
    );
  });

  test('a restart from step 0 still writes the newest file, ordered by sequence not step', async (t) => {
    const dir = await checkpointDir(t);
    await writeCheckpoint(dir, makeCheckpoint(900));
    await writeCheckpoint(dir, makeCheckpoint(5));
    assert.equal((await readLatestCheckpoint(dir))?.checkpoint.step, 5);
  });

  test('a checkpoint with non-finite values or mismatched optimizer state is not written', async (t) => {
    const dir = await checkpointDir(t);
    const diverged = makeCheckpoint(1);
    (diverged.parameters.get('head.bias') as Float32Array)[0] = Number.NaN;
    await assert.rejects(writeCheckpoint(dir, diverged), (e) => isBaheError(e, 'BAHE_TRAINING_DIVERGED'));

    const partial = makeCheckpoint(1);
    partial.optimizer.secondMoment.delete('head.bias');
    await assert.rejects(writeCheckpoint(dir, partial), /moments for parameter head.bias/);
    assert.equal(await readLatestCheckpoint(dir), null);
  });

  test('the layout hash depends on names, shapes and order', () => {
    const base = parameterLayoutSha256(LAYOUT);
    assert.equal(parameterLayoutSha256(LAYOUT.map((e) => ({ ...e }))), base);
    assert.notEqual(parameterLayoutSha256([...LAYOUT].reverse()), base);
    assert.notEqual(parameterLayoutSha256([{ name: 'upper.0.weight', shape: [12] }, HEAD]), base);
  });
});
