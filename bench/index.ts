/**
 * `npm run bench`: throughput of the encoder (through the service's encoder against a bare ONNX
 * Runtime loop over the same runs) and of the training step, on this machine. Writes
 * bench-out/report.json and bench-out/report.md. Not part of the tests.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { OnnxEncoder } from '../src/encoder/onnx-encoder.js';
import { openSession } from '../src/encoder/ort-session.js';
import { padBatch } from '../src/encoder/tokenizer.js';
import { loadModel } from '../src/model/load.js';
import { DEFAULT_MODEL_DIR, PACKAGE_ROOT, SHARED_DATA_DIR } from '../src/paths.js';
import { parseItems } from '../src/sources/movielens-files.js';
import { AdamW } from '../src/trainer/adamw.js';
import { allocateBatch, batchShapeOf } from '../src/trainer/batch.js';
import { TrainStepGraph } from '../src/trainer/train-step.js';

const THREADS = 2;
const ROUNDS = 3;
const TITLES = 1_000;
const BATCH_SIZES = [32, 128, 256];
const TRAIN_STEPS = 8;

async function bestOf(rounds: number, work: () => Promise<number>): Promise<number> {
  let best = 0;
  for (let round = 0; round < rounds; round += 1) best = Math.max(best, await work());
  return best;
}

async function timed(items: number, work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return (items * 1000) / (performance.now() - start);
}

async function main(): Promise<void> {
  const itemFile = path.join(SHARED_DATA_DIR, 'movielens-100k', 'u.item');
  if (!existsSync(itemFile)) {
    process.stderr.write(`the benchmark reads real titles from ${itemFile}; that file is not here\n`);
    process.exitCode = 1;
    return;
  }
  const titles = [...parseItems((await readFile(itemFile)).toString('latin1'), itemFile).values()].slice(
    0,
    TITLES,
  );
  const model = await loadModel(DEFAULT_MODEL_DIR);
  const encoder = await OnnxEncoder.fromModel(model, { intraOpThreads: THREADS });
  const bare = await openSession(model.files.encoder, { intraOpThreads: THREADS });
  const tokenized = titles.map((title) => encoder.tokenizer.encode(title));

  const encoderRows = [];
  for (const batchSize of BATCH_SIZES) {
    const pipeline = await bestOf(ROUNDS, () =>
      timed(titles.length, async () => {
        for (let start = 0; start < titles.length; start += batchSize) {
          await encoder.encode(titles.slice(start, start + batchSize));
        }
      }),
    );
    // The same runs as the encoder makes (each call sorted by length, runs of maxRunBatchSize),
    // pre-tokenized and fed straight to ONNX Runtime: what the service adds is the difference.
    const raw = await bestOf(ROUNDS, () =>
      timed(titles.length, async () => {
        for (let start = 0; start < tokenized.length; start += batchSize) {
          const call = tokenized.slice(start, start + batchSize).sort((a, b) => a.length - b.length);
          for (let run = 0; run < call.length; run += encoder.maxRunBatchSize) {
            const batch = padBatch(call.slice(run, run + encoder.maxRunBatchSize), 0);
            const dims = [batch.batchSize, batch.seqLen];
            await bare.run({
              input_ids: new ort.Tensor('int64', batch.ids, dims),
              attention_mask: new ort.Tensor('int64', batch.mask, dims),
            });
          }
        }
      }),
    );
    encoderRows.push({ batchSize, pipelinePerS: pipeline, rawPerS: raw, ratio: pipeline / raw });
  }
  await encoder.close();
  await bare.release();

  const shape = batchShapeOf(model.manifest);
  const graph = new TrainStepGraph(
    await openSession(model.files.trainStep, { intraOpThreads: THREADS }),
    model.manifest.parameters.entries,
    shape,
  );
  const batch = allocateBatch(shape);
  batch.historyMask.fill(1);
  batch.weight.fill(1);
  for (let i = 0; i < batch.history.length; i += 1) batch.history[i] = Math.sin(i) * 0.1;
  const parameters = new Map([...model.parameters].map(([name, value]) => [name, Float32Array.from(value)]));
  const optimizer = new AdamW(parameters);
  const trainPerS = await timed(TRAIN_STEPS * shape.rows, async () => {
    for (let step = 0; step < TRAIN_STEPS; step += 1) {
      const { gradients } = await graph.run(parameters, batch);
      optimizer.step(parameters, gradients, () => 1e-4);
    }
  });
  await graph.close();

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ort.env.versions.common,
    threads: THREADS,
  };
  const report = {
    measuredAt: new Date().toISOString(),
    machine,
    encoder: { titles: titles.length, rounds: ROUNDS, rows: encoderRows },
    trainStep: {
      batch: shape.rows,
      positions: shape.behaviorTypes.length * shape.maxHistoryPerType,
      steps: TRAIN_STEPS,
      samplesPerS: trainPerS,
    },
  };
  const out = path.join(PACKAGE_ROOT, 'bench-out');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(out, 'report.md'), markdown(report));
  process.stdout.write(markdown(report));
}

function markdown(report: {
  measuredAt: string;
  machine: Record<string, unknown>;
  encoder: { titles: number; rounds: number; rows: Array<Record<string, number>> };
  trainStep: { batch: number; positions: number; steps: number; samplesPerS: number };
}): string {
  const lines = [
    '# bahe-stream benchmark',
    '',
    `Measured ${report.measuredAt} on ${JSON.stringify(report.machine)}.`,
    '',
    `## Encoder: ${report.encoder.titles} MovieLens titles, best of ${report.encoder.rounds} rounds`,
    '',
    'Behaviors per second through the service encoder (tokenizer, length-sorted runs, ONNX Runtime) and',
    'through a bare ONNX Runtime loop over the same runs, pre-tokenized.',
    '',
    '| texts per call | service encoder /s | bare ONNX Runtime /s | service / bare |',
    '|---|---|---|---|',
    ...report.encoder.rows.map(
      (row) =>
        `| ${row.batchSize} | ${row.pipelinePerS?.toFixed(0)} | ${row.rawPerS?.toFixed(0)} | ${((row.ratio ?? 0) * 100).toFixed(0)}% |`,
    ),
    '',
    `## Training step: batch ${report.trainStep.batch}, ${report.trainStep.positions} behavior positions per impression`,
    '',
    `${report.trainStep.samplesPerS.toFixed(1)} impressions/s over ${report.trainStep.steps} steps ` +
      '(train-step graph plus the AdamW update in TypeScript).',
    '',
  ];
  return lines.join('\n');
}

await main();
