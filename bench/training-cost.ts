/**
 * Training cost, BAHE against the token-level baseline: time per training impression and peak
 * memory, on the same MovieLens impressions, with the same upper layers, head and batch size, over
 * history lengths. Every configuration runs in its own process so that peak memories do not mix.
 */

import path from 'node:path';
import { OnnxEncoder } from '../src/encoder/onnx-encoder.js';
import { loadModel } from '../src/model/load.js';
import { DEFAULT_MODEL_DIR, SHARED_DATA_DIR } from '../src/paths.js';
import { childMain, log, peakRssMiB, runChild, THREADS } from './common.js';
import { baheTrainer, readBenchGraphs, TokenLevelTrainer } from './models.js';
import { readSplit, titleVectors } from './movielens-split.js';

export interface CostConfig {
  model: 'bahe' | 'token';
  /** Behaviors per type; the history holds two types, so the history length is twice this. */
  behaviorsPerType: number;
  steps: number;
  /** ONNX Runtime's CPU memory arena (the service's setting) or not (peak = what the graphs need). */
  arena: boolean;
}

export interface CostResult extends CostConfig {
  historyLength: number;
  batch: number;
  /** Positions one impression's history occupies in the upper layers (per type x types). */
  positions: number;
  msPerSample: number;
  /** Milliseconds per step of each timed step. */
  stepMs: number[];
  rssBeforeMiB: number;
  peakRssMiB: number;
  /** Encoding each unique behavior once, spread over the whole stream's impressions (BAHE only). */
  amortizedEncodeMsPerSample?: number;
}

/** Impressions from late in the stream, where users have long histories. */
const FIRST_IMPRESSION = 60_000;

async function measure(config: CostConfig): Promise<CostResult> {
  const model = await loadModel(DEFAULT_MODEL_DIR);
  const split = await readSplit(path.join(SHARED_DATA_DIR, 'movielens-100k'), config.behaviorsPerType);
  const encoder = await OnnxEncoder.fromModel(model, { intraOpThreads: THREADS });
  const encodeStart = performance.now();
  const vectors = await titleVectors(encoder, split.titles);
  const encodeMs = performance.now() - encodeStart;
  const batch = model.manifest.trainBatchSize;
  const batches = Array.from({ length: config.steps + 1 }, (_, step) =>
    split.train.slice(FIRST_IMPRESSION + step * batch, FIRST_IMPRESSION + (step + 1) * batch),
  );

  let step: (impressions: (typeof batches)[number]) => Promise<unknown>;
  let positions = 2 * config.behaviorsPerType;
  if (config.model === 'bahe') {
    const { trainer } = await baheTrainer(model, config.behaviorsPerType, { arena: config.arena });
    step = (impressions) => trainer.trainMicroBatch(impressions, (id) => vectors.get(id) as Float32Array);
  } else {
    const texts = new Map([...split.titles].map(([id, title]) => [`item:${id}`, title]));
    const token = await TokenLevelTrainer.open(
      model,
      config.behaviorsPerType,
      encoder.tokenizer,
      texts,
      vectors,
      config.arena,
    );
    positions = 2 * token.tokensPerType;
    step = (impressions) => token.trainMicroBatch(impressions);
  }
  await encoder.close();

  const rssBeforeMiB = peakRssMiB();
  await step(batches[0] ?? []); // warm-up: first-run allocations and kernel selection
  const stepMs: number[] = [];
  for (const impressions of batches.slice(1)) {
    const start = performance.now();
    await step(impressions);
    stepMs.push(performance.now() - start);
  }
  const msPerSample = stepMs.reduce((a, b) => a + b, 0) / (stepMs.length * batch);
  return {
    ...config,
    historyLength: 2 * config.behaviorsPerType,
    batch,
    positions,
    msPerSample,
    stepMs,
    rssBeforeMiB,
    peakRssMiB: peakRssMiB(),
    ...(config.model === 'bahe' ? { amortizedEncodeMsPerSample: encodeMs / split.train.length } : {}),
  };
}

export interface TrainingCostSection {
  /** Every history length and model with ONNX Runtime's arena off, then the longest with it on. */
  configs: CostResult[];
  /** At the longest history, arena off: token-level / BAHE. */
  timeRatio: number;
  memoryRatio: number;
  /** Same, on the memory the training steps added to the process (peak - before the first step). */
  stepMemoryRatio: number;
  /** At the longest history with the arena on (the service's setting): token-level / BAHE. */
  arenaTimeRatio: number;
  arenaMemoryRatio: number;
  /** Peak RSS with the arena on minus off, per model at the longest history: what the arena holds beyond need. */
  arenaHeldMiB: { bahe: number; token: number };
}

export async function runTrainingCost(options: {
  steps: number;
  tokenSteps: number;
}): Promise<TrainingCostSection> {
  const histories = Object.keys((await readBenchGraphs()).graphs)
    .map(Number)
    .sort((a, b) => a - b);
  const longest = histories.at(-1) as number;
  const plan: CostConfig[] = [];
  for (const behaviorsPerType of histories) {
    for (const model of ['bahe', 'token'] as const) {
      const steps = model === 'bahe' ? options.steps : options.tokenSteps;
      plan.push({ model, behaviorsPerType, steps, arena: false });
      if (behaviorsPerType === longest) plan.push({ model, behaviorsPerType, steps, arena: true });
    }
  }
  const configs: CostResult[] = [];
  for (const config of plan) {
    const what = `${config.model}, ${2 * config.behaviorsPerType} behaviors, arena ${config.arena ? 'on' : 'off'}`;
    log(`training cost: ${what}, ${config.steps} timed steps`);
    configs.push(await runChild<CostResult>(import.meta.url, config));
  }
  const at = (model: string, arena: boolean) =>
    configs.find(
      (c) => c.model === model && c.behaviorsPerType === longest && c.arena === arena,
    ) as CostResult;
  const [bahe, token] = [at('bahe', false), at('token', false)];
  const [baheArena, tokenArena] = [at('bahe', true), at('token', true)];
  return {
    configs,
    timeRatio: token.msPerSample / bahe.msPerSample,
    memoryRatio: token.peakRssMiB / bahe.peakRssMiB,
    stepMemoryRatio: (token.peakRssMiB - token.rssBeforeMiB) / (bahe.peakRssMiB - bahe.rssBeforeMiB),
    arenaTimeRatio: tokenArena.msPerSample / baheArena.msPerSample,
    arenaMemoryRatio: tokenArena.peakRssMiB / baheArena.peakRssMiB,
    arenaHeldMiB: {
      bahe: baheArena.peakRssMiB - bahe.peakRssMiB,
      token: tokenArena.peakRssMiB - token.peakRssMiB,
    },
  };
}

await childMain(measure);
