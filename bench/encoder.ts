/**
 * Encoder throughput: behaviors per second through the service's encoder against a bare ONNX
 * Runtime loop over the same runs (the pipeline's overhead), and the work per behavior against
 * this machine's measured matrix-multiply rate (how close to the limit the encoder runs).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { OnnxEncoder } from '../src/encoder/onnx-encoder.js';
import { openSession } from '../src/encoder/ort-session.js';
import { padBatch, type TokenBatch } from '../src/encoder/tokenizer.js';
import { loadModel } from '../src/model/load.js';
import { DEFAULT_MODEL_DIR, SHARED_DATA_DIR } from '../src/paths.js';
import { parseItems } from '../src/sources/movielens-files.js';
import { bestRate, log, THREADS, timeMs } from './common.js';
import { matMulModel } from './matmul-graph.js';

export interface EncoderRow {
  batchSize: number;
  pipelinePerS: number;
  rawPerS: number;
  ratio: number;
  /** Floating-point operations per behavior in the runs' padded token counts. */
  mflopPerBehavior: number;
  /** rawPerS x FLOPs per behavior. */
  rawGflopPerS: number;
}

export interface EncoderSection {
  titles: number;
  rounds: number;
  meanTokens: number;
  rows: EncoderRow[];
  matMul: { size: number; gflopPerS: number };
  layers: number;
  hiddenSize: number;
}

const TITLES = 1_000;
const BATCH_SIZES = [32, 128, 256];
const MATMUL_SIZE = 2048;

/** Multiply-adds of `layers` BERT layers over one sequence of `tokens` (projections, FFN, attention). */
function layerFlops(tokens: number, hidden: number, layers: number): number {
  return layers * (24 * tokens * hidden * hidden + 4 * tokens * tokens * hidden);
}

async function matMulRate(rounds: number): Promise<number> {
  const session = await ort.InferenceSession.create(matMulModel(), {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
  });
  const n = MATMUL_SIZE;
  const a = new ort.Tensor(
    'float32',
    Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)),
    [n, n],
  );
  const b = new ort.Tensor(
    'float32',
    Float32Array.from({ length: n * n }, (_, i) => Math.cos(i)),
    [n, n],
  );
  await session.run({ A: a, B: b });
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round += 1)
    best = Math.min(best, await timeMs(() => session.run({ A: a, B: b })));
  await session.release();
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

export async function runEncoder(options: { rounds: number }): Promise<EncoderSection> {
  const itemFile = path.join(SHARED_DATA_DIR, 'movielens-100k', 'u.item');
  const titles = [...parseItems((await readFile(itemFile)).toString('latin1'), itemFile).values()].slice(
    0,
    TITLES,
  );
  const model = await loadModel(DEFAULT_MODEL_DIR);
  const { hiddenSize } = model.manifest;
  const layers = model.manifest.split.lowerLayers;
  const encoder = await OnnxEncoder.fromModel(model, { intraOpThreads: THREADS });
  const bare = await openSession(model.files.encoder, { intraOpThreads: THREADS });
  const tokenized = titles.map((title) => encoder.tokenizer.encode(title));

  const rows: EncoderRow[] = [];
  for (const batchSize of BATCH_SIZES) {
    log(`encoder: ${TITLES} titles in calls of ${batchSize}`);
    // The runs the encoder makes: each call sorted by length, cut into runs of maxRunBatchSize.
    const runs: TokenBatch[] = [];
    for (let start = 0; start < tokenized.length; start += batchSize) {
      const call = tokenized.slice(start, start + batchSize).sort((a, b) => a.length - b.length);
      for (let run = 0; run < call.length; run += encoder.maxRunBatchSize) {
        runs.push(padBatch(call.slice(run, run + encoder.maxRunBatchSize), 0));
      }
    }
    const flops = runs.reduce(
      (sum, run) => sum + run.batchSize * layerFlops(run.seqLen, hiddenSize, layers),
      0,
    );
    const pipeline = await bestRate(options.rounds, titles.length, async () => {
      for (let start = 0; start < titles.length; start += batchSize) {
        await encoder.encode(titles.slice(start, start + batchSize));
      }
    });
    // Pre-tokenized and fed straight to ONNX Runtime: what the service adds is the difference.
    const raw = await bestRate(options.rounds, titles.length, async () => {
      for (const batch of runs) {
        const dims = [batch.batchSize, batch.seqLen];
        await bare.run({
          input_ids: new ort.Tensor('int64', batch.ids, dims),
          attention_mask: new ort.Tensor('int64', batch.mask, dims),
        });
      }
    });
    const perBehavior = flops / titles.length;
    rows.push({
      batchSize,
      pipelinePerS: pipeline,
      rawPerS: raw,
      ratio: pipeline / raw,
      mflopPerBehavior: perBehavior / 1e6,
      rawGflopPerS: (raw * perBehavior) / 1e9,
    });
  }
  await encoder.close();
  await bare.release();
  log('encoder: matrix-multiply rate');
  const gflopPerS = await matMulRate(options.rounds + 2);
  return {
    titles: titles.length,
    rounds: options.rounds,
    meanTokens: tokenized.reduce((sum, ids) => sum + ids.length, 0) / tokenized.length,
    rows,
    matMul: { size: MATMUL_SIZE, gflopPerS },
    layers,
    hiddenSize,
  };
}
