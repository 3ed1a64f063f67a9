/**
 * Quality on MovieLens-100K's official split: running (test-then-train) AUC and log-loss over
 * ua.base in time order, then AUC and log-loss on ua.test, for BAHE, its text-only ablation, the
 * non-text baseline and (on a subset) the token-level baseline.
 */
import path from 'node:path';
import { OnnxEncoder } from '../src/encoder/onnx-encoder.js';
import { openSession } from '../src/encoder/ort-session.js';
import { SideFeatures } from '../src/features/side-features.js';
import { loadModel } from '../src/model/load.js';
import { DEFAULT_MODEL_DIR, SHARED_DATA_DIR } from '../src/paths.js';
import { AggregatorGraph } from '../src/trainer/aggregator.js';
import {
  allocateBatch,
  type BatchShape,
  type BatchTensors,
  batchShapeOf,
  fillBatch,
  type TrainingImpression,
} from '../src/trainer/batch.js';
import { areaUnderRoc, bceWithLogit } from '../src/trainer/metrics.js';
import type { Trainer } from '../src/trainer/trainer.js';
import { log, THREADS } from './common.js';
import { baheTrainer, TokenLevelTrainer, textOnlySide } from './models.js';
import { itemKey, readSplit, titleVectors } from './movielens-split.js';

export interface QualityOptions {
  /** ua.base impressions to train on, in time order; 0 for all. */
  impressions: number;
  /** Impressions (a prefix of the same stream) for the token-level baseline and BAHE beside it. */
  tokenImpressions: number;
  /** ua.test impressions, evenly spread, scored by the token-level baseline and BAHE beside it. */
  tokenTestImpressions: number;
}

export interface Scores {
  auc: number;
  logLoss: number;
  count: number;
}

export interface ModelQuality {
  name: string;
  running: Scores;
  test: Scores;
  /** Running AUC after every `curveEvery` impressions. */
  curve: number[];
  seconds: number;
}

export interface QualitySection {
  trainImpressions: number;
  trainTotal: number;
  testImpressions: number;
  curveEvery: number;
  models: ModelQuality[];
  tokenSubset: {
    trainImpressions: number;
    testImpressions: number;
    models: ModelQuality[];
  } | null;
  ablation: string;
  tokenSkipped?: string;
}

function scores(logits: ArrayLike<number>, labels: ArrayLike<number>): Scores {
  let loss = 0;
  for (let i = 0; i < logits.length; i += 1) loss += bceWithLogit(logits[i] as number, labels[i] as number);
  return { auc: areaUnderRoc(logits, labels), logLoss: loss / logits.length, count: logits.length };
}

function curveOf(all: { scores: number[]; labels: number[] }, every: number): number[] {
  const points: number[] = [];
  for (let end = every; end <= all.scores.length; end += every) {
    points.push(areaUnderRoc(all.scores.slice(0, end), all.labels.slice(0, end)));
  }
  return points;
}

/** Logits of `impressions` in rows of `shape.rows`, with the side features of `features` (frozen). */
async function scoreAll(
  impressions: readonly TrainingImpression[],
  shape: BatchShape,
  features: SideFeatures,
  prepare: (chunk: readonly TrainingImpression[]) => Promise<{
    rows: readonly TrainingImpression[];
    vector: (id: string) => Float32Array;
  }>,
  run: (batch: BatchTensors, rows: number) => Promise<Float32Array>,
  textOnly = false,
): Promise<Float32Array> {
  const out = new Float32Array(impressions.length);
  const batch = allocateBatch(shape);
  for (let start = 0; start < impressions.length; start += shape.rows) {
    const { rows, vector } = await prepare(impressions.slice(start, start + shape.rows));
    fillBatch(shape, batch, rows, vector, (row, side, offset) => {
      const impression = rows[row] as TrainingImpression;
      features.write(impression.userId, impression.itemId, side, offset);
    });
    if (textOnly) textOnlySide(batch, shape);
    out.set((await run(batch, shape.rows)).subarray(0, rows.length), start);
  }
  return out;
}

async function train(
  name: string,
  impressions: readonly TrainingImpression[],
  step: (chunk: readonly TrainingImpression[]) => Promise<unknown>,
  batch: number,
): Promise<number> {
  const start = performance.now();
  let next = 0;
  for (let first = 0; first < impressions.length; first += batch) {
    await step(impressions.slice(first, first + batch));
    if (first >= next) {
      log(`quality: ${name} ${first} / ${impressions.length}`);
      next += 10_000;
    }
  }
  return (performance.now() - start) / 1000;
}

function running(trainer: Trainer, baseline = false): Scores {
  const metrics = baseline ? trainer.baselineMetrics : trainer.metrics;
  return { auc: metrics.auc(), logLoss: metrics.logLoss, count: metrics.count };
}

export async function runQuality(
  options: QualityOptions,
  tokenGraphsMissing?: string,
): Promise<QualitySection> {
  const model = await loadModel(DEFAULT_MODEL_DIR);
  const depth = model.manifest.maxHistoryPerType;
  const split = await readSplit(path.join(SHARED_DATA_DIR, 'movielens-100k'), depth);
  const encoder = await OnnxEncoder.fromModel(model, { intraOpThreads: THREADS });
  const vectors = await titleVectors(encoder, split.titles);
  const vector = (id: string) => vectors.get(id) as Float32Array;
  const trainSet = options.impressions > 0 ? split.train.slice(0, options.impressions) : split.train;
  const batchRows = model.manifest.trainBatchSize;
  const curveEvery = Math.max(batchRows, Math.round(trainSet.length / 60 / batchRows) * batchRows);
  const aggregator = new AggregatorGraph(
    await openSession(model.files.aggregator, { intraOpThreads: THREADS }),
    model.manifest.parameters.entries,
    batchShapeOf(model.manifest),
  );
  const labels = split.test.map((impression) => impression.label);
  const plain = async (chunk: readonly TrainingImpression[]) => ({ rows: chunk, vector });

  const models: ModelQuality[] = [];
  let baseline: ModelQuality | undefined;
  const variants = [
    { name: 'BAHE', textOnly: false, priorOnly: false },
    { name: 'BAHE text-only (rates and counts zeroed, every item new)', textOnly: true, priorOnly: false },
    { name: 'BAHE, item-text prior trained alone', textOnly: false, priorOnly: true },
  ];
  for (const { name, textOnly, priorOnly } of variants) {
    const { trainer, graph } = await baheTrainer(model, depth, { textOnly, priorOnly });
    const seconds = await train(name, trainSet, (chunk) => trainer.trainMicroBatch(chunk, vector), batchRows);
    const features = SideFeatures.fromJSON(trainer.snapshot().features);
    const logits = await scoreAll(
      split.test,
      batchShapeOf(model.manifest),
      features,
      plain,
      (batch, rows) => aggregator.score(trainer.parameters, batch, rows),
      textOnly,
    );
    models.push({
      name,
      running: running(trainer),
      test: scores(logits, labels),
      curve: curveOf(trainer.metrics.toJSON(), curveEvery),
      seconds,
    });
    if (name === 'BAHE') {
      const testBaseline = split.test.map((i) => features.baselineScore(i.userId, i.itemId));
      baseline = {
        name: 'non-text baseline (smoothed user and item rates)',
        running: running(trainer, true),
        test: scores(testBaseline, labels),
        curve: curveOf(trainer.baselineMetrics.toJSON(), curveEvery),
        seconds: 0,
      };
    }
    await graph.close();
  }
  models.push(baseline as ModelQuality);

  let tokenSubset: QualitySection['tokenSubset'] = null;
  if (tokenGraphsMissing === undefined && options.tokenImpressions > 0) {
    tokenSubset = await tokenComparison(options, model, split, vectors, encoder);
  }
  await encoder.close();
  await aggregator.close();
  return {
    trainImpressions: trainSet.length,
    trainTotal: split.train.length,
    testImpressions: split.test.length,
    curveEvery,
    models,
    tokenSubset,
    ablation:
      'BAHE with nothing learned from labels or counts outside the model: in training and scoring the side ' +
      'features user_lift, item_lift, global_rate, user_count and item_count are 0 and item_coldness is 1 (every ' +
      'item counts as never seen), so the wide part has no rates and the item-text prior is fully open; the ' +
      "histories, the candidate title, the prior and the deep head stay. Same graphs and parameters as BAHE's. " +
      'Prior trained alone: BAHE with the learning rates of the upper layers and of the head (wide part included) ' +
      'at 0, so only the item-text prior learns: what the rest of the model adds is the difference to BAHE.',
    ...(tokenGraphsMissing === undefined ? {} : { tokenSkipped: tokenGraphsMissing }),
  };
}

async function tokenComparison(
  options: QualityOptions,
  model: Awaited<ReturnType<typeof loadModel>>,
  split: Awaited<ReturnType<typeof readSplit>>,
  vectors: Map<string, Float32Array>,
  encoder: OnnxEncoder,
): Promise<NonNullable<QualitySection['tokenSubset']>> {
  const depth = model.manifest.maxHistoryPerType;
  const batchRows = model.manifest.trainBatchSize;
  const subset = split.train.slice(0, options.tokenImpressions);
  const stride = Math.max(1, Math.floor(split.test.length / options.tokenTestImpressions));
  const testSubset = split.test
    .filter((_, index) => index % stride === 0)
    .slice(0, options.tokenTestImpressions);
  const labels = testSubset.map((impression) => impression.label);
  const curveEvery = batchRows;
  const vector = (id: string) => vectors.get(id) as Float32Array;
  const models: ModelQuality[] = [];

  const { trainer: bahe, graph: baheGraph } = await baheTrainer(model, depth);
  const baheSeconds = await train(
    'BAHE (token subset)',
    subset,
    (chunk) => bahe.trainMicroBatch(chunk, vector),
    batchRows,
  );
  const baheFeatures = SideFeatures.fromJSON(bahe.snapshot().features);
  const baheLogits = await scoreAll(
    testSubset,
    batchShapeOf(model.manifest),
    baheFeatures,
    async (chunk) => ({ rows: chunk, vector }),
    async (batch) => (await baheGraph.run(bahe.parameters, batch)).logits,
  );
  models.push({
    name: 'BAHE',
    running: running(bahe),
    test: scores(baheLogits, labels),
    curve: curveOf(bahe.metrics.toJSON(), curveEvery),
    seconds: baheSeconds,
  });
  await baheGraph.close();

  const texts = new Map([...split.titles].map(([id, title]) => [itemKey(id), title]));
  const token = await TokenLevelTrainer.open(model, depth, encoder.tokenizer, texts, vectors);
  const tokenSeconds = await train('token-level', subset, (chunk) => token.trainMicroBatch(chunk), batchRows);
  const features = SideFeatures.fromJSON(token.trainer.snapshot().features);
  const logits = await scoreAll(
    testSubset,
    token.shape,
    features,
    async (chunk) => {
      const { tokenImpressions, vector: tokenVector } = await token.prepare(chunk);
      return { rows: tokenImpressions, vector: tokenVector };
    },
    async (batch) => (await token.graph.run(token.trainer.parameters, batch)).logits,
  );
  models.push({
    name: 'token-level baseline',
    running: running(token.trainer),
    test: scores(logits, labels),
    curve: curveOf(token.trainer.metrics.toJSON(), curveEvery),
    seconds: tokenSeconds,
  });
  models.push({
    name: 'non-text baseline (smoothed user and item rates)',
    running: running(bahe, true),
    test: scores(
      testSubset.map((i) => baheFeatures.baselineScore(i.userId, i.itemId)),
      labels,
    ),
    curve: curveOf(bahe.baselineMetrics.toJSON(), curveEvery),
    seconds: 0,
  });
  await token.graph.close();
  await token.close();
  return { trainImpressions: subset.length, testImpressions: testSubset.length, models };
}
