/**
 * The trainers the benchmark compares: BAHE (the service's own trainer over stored behavior
 * vectors) and the token-level baseline (the frozen lower layers over every behavior token of a
 * user's history, then the same upper layers and head), both at a chosen history length.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { WordPieceTokenizer } from '../src/encoder/tokenizer.js';
import { SIDE_FEATURE_NAMES } from '../src/features/side-features.js';
import type { LoadedModel } from '../src/model/load.js';
import {
  type BatchShape,
  type BatchTensors,
  batchShapeOf,
  type TrainingImpression,
} from '../src/trainer/batch.js';
import { trainerSettingsFor } from '../src/trainer/setup.js';
import { TrainStepGraph } from '../src/trainer/train-step.js';
import { type TrainableParameter, Trainer } from '../src/trainer/trainer.js';
import { benchGraphsDir, THREADS } from './common.js';

export interface BenchGraphs {
  tokenStates: { file: string };
  tokensPerBehavior: number;
  trainBatchSize: number;
  /** By behaviors per type. */
  graphs: Record<
    string,
    {
      behaviorsPerType: number;
      tokensPerType: number;
      bahe: { file: string; parameters: string[] };
      token: { file: string; parameters: string[] };
    }
  >;
}

export async function readBenchGraphs(): Promise<BenchGraphs> {
  return JSON.parse(await readFile(path.join(benchGraphsDir(), 'bench-graphs.json'), 'utf8')) as BenchGraphs;
}

/**
 * A CPU session like the service's, with ONNX Runtime's memory arena on (the service's setting) or
 * off: without the arena, freed buffers go back to the allocator, so peak RSS is what the graph needs.
 */
export function benchSession(file: string, arena: boolean): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, {
    executionProviders: ['cpu'],
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: arena,
  });
}

/**
 * BAHE's text-only ablation of a laid-out batch: every side feature drawn from labels or counts is
 * zeroed, and every item counts as never seen (item_coldness 1), so the item-text prior stands in
 * for the item's rate in full. Zeroing item_coldness too would shut the prior's gate and leave the
 * titles only the deep head.
 */
export function textOnlySide(batch: BatchTensors, shape: BatchShape): void {
  const coldness = (SIDE_FEATURE_NAMES as readonly string[]).indexOf('item_coldness');
  batch.side.fill(0);
  for (let row = 0; row < shape.rows; row += 1) batch.side[row * shape.sideFeatureCount + coldness] = 1;
}

/** The train-step graph fed BAHE's text-only ablation of each batch (textOnlySide). */
export class TextOnlyTrainStep extends TrainStepGraph {
  readonly #shape: BatchShape;

  constructor(...args: ConstructorParameters<typeof TrainStepGraph>) {
    super(...args);
    this.#shape = args[2];
  }

  override run(parameters: ReadonlyMap<string, Float32Array>, batch: BatchTensors) {
    textOnlySide(batch, this.#shape);
    return super.run(parameters, batch);
  }
}

/** The default model's parameters and entries restricted to `names`, positions cut to `history`. */
function parametersFor(model: LoadedModel, names: readonly string[], history: number) {
  const byName = new Map(model.manifest.parameters.entries.map((entry) => [entry.name, entry]));
  const entries: TrainableParameter[] = [];
  const values = new Map<string, Float32Array>();
  for (const name of names) {
    const entry = byName.get(name);
    const value = model.parameters.get(name);
    if (entry === undefined || value === undefined)
      throw new Error(`the default model has no parameter ${name}`);
    if (name === 'upper.position') {
      const width = entry.shape[1] as number;
      entries.push({ ...entry, shape: [history, width] });
      values.set(name, value.slice(0, history * width));
    } else {
      entries.push(entry);
      values.set(name, Float32Array.from(value));
    }
  }
  return { entries, values };
}

export interface TrainerOptions {
  /** Feed the text-only ablation of the side features (textOnlySide). */
  textOnly?: boolean;
  /** Train the item-text prior alone: the upper layers and the head keep their initial values. */
  priorOnly?: boolean;
  /** ONNX Runtime's CPU memory arena; off by default here. */
  arena?: boolean;
}

/** A trainer of the default model's kind with another train-step graph and parameter list. */
async function trainerWith(
  model: LoadedModel,
  file: string,
  names: readonly string[],
  shape: BatchShape,
  behaviors: number,
  { textOnly = false, priorOnly = false, arena = false }: TrainerOptions = {},
): Promise<{ trainer: Trainer; graph: TrainStepGraph }> {
  const { entries, values } = parametersFor(model, names, behaviors);
  const session = await benchSession(file, arena);
  const graph = textOnly
    ? new TextOnlyTrainStep(session, entries, shape)
    : new TrainStepGraph(session, entries, shape);
  const frozen = priorOnly ? 0 : undefined;
  const overrides = { learningRateUpper: frozen, learningRateHead: frozen, warmupSteps: 0 };
  const settings = { ...trainerSettingsFor(model, overrides), shape, parameters: entries };
  return { trainer: new Trainer(settings, graph, values), graph };
}

/** BAHE's trainer at `behaviors` per type: the committed graph at the model's own length. */
export async function baheTrainer(model: LoadedModel, behaviors: number, options: TrainerOptions = {}) {
  const shape = { ...batchShapeOf(model.manifest), maxHistoryPerType: behaviors };
  if (behaviors === model.manifest.maxHistoryPerType) {
    const names = model.manifest.parameters.entries.map((entry) => entry.name);
    return trainerWith(model, model.files.trainStep, names, shape, behaviors, options);
  }
  const graphs = await readBenchGraphs();
  const graph = graphs.graphs[String(behaviors)];
  if (graph === undefined) throw new Error(`no BAHE graph for ${behaviors} behaviors per type`);
  const file = path.join(benchGraphsDir(), graph.bahe.file);
  return trainerWith(model, file, graph.bahe.parameters, shape, behaviors, options);
}

/**
 * The token-level baseline: per impression and behavior type, the most recent behaviors' titles
 * concatenated (each at most tokensPerBehavior - 1 word pieces and a [SEP]) run through the frozen
 * lower layers; the token states then take the place of behavior vectors in the same trainer.
 */
export class TokenLevelTrainer {
  readonly trainer: Trainer;
  readonly graph: TrainStepGraph;
  readonly shape: BatchShape;
  readonly tokensPerType: number;
  readonly #states: ort.InferenceSession;
  readonly #types: readonly string[];
  readonly #pieces: Map<string, number[]>;
  readonly #vectors: ReadonlyMap<string, Float32Array>;
  readonly #hidden: number;

  private constructor(
    { trainer, graph }: { trainer: Trainer; graph: TrainStepGraph },
    states: ort.InferenceSession,
    shape: BatchShape,
    pieces: Map<string, number[]>,
    vectors: ReadonlyMap<string, Float32Array>,
  ) {
    this.trainer = trainer;
    this.graph = graph;
    this.shape = shape;
    this.#states = states;
    this.tokensPerType = shape.maxHistoryPerType;
    this.#types = shape.behaviorTypes;
    this.#hidden = shape.hiddenSize;
    this.#pieces = pieces;
    this.#vectors = vectors;
  }

  /** `texts` maps behavior ids to titles; `vectors` holds the candidates' item vectors. */
  static async open(
    model: LoadedModel,
    behaviors: number,
    tokenizer: WordPieceTokenizer,
    texts: ReadonlyMap<string, string>,
    vectors: ReadonlyMap<string, Float32Array>,
    arena = false,
  ): Promise<TokenLevelTrainer> {
    const graphs = await readBenchGraphs();
    const graph = graphs.graphs[String(behaviors)];
    if (graph === undefined) throw new Error(`no token-level graph for ${behaviors} behaviors per type`);
    const shape = { ...batchShapeOf(model.manifest), maxHistoryPerType: graph.tokensPerType };
    const file = path.join(benchGraphsDir(), graph.token.file);
    const trainer = await trainerWith(model, file, graph.token.parameters, shape, behaviors, { arena });
    const states = await benchSession(path.join(benchGraphsDir(), graphs.tokenStates.file), arena);
    const room = graphs.tokensPerBehavior - 1;
    const sep = tokenizer.settings.sepId;
    const pieces = new Map(
      [...texts].map(([id, text]) => [id, [...tokenizer.encode(text).slice(1, -1).slice(0, room), sep]]),
    );
    return new TokenLevelTrainer(trainer, states, shape, pieces, vectors);
  }

  /** Token states of every impression's sequences, then one training step on them (test-then-train). */
  async trainMicroBatch(impressions: readonly TrainingImpression[]) {
    const { tokenImpressions, vector } = await this.prepare(impressions);
    return this.trainer.trainMicroBatch(tokenImpressions, vector);
  }

  /** The impressions with token ids as history, and the lookup of their token states and item vectors. */
  async prepare(impressions: readonly TrainingImpression[]) {
    const { ids, mask, tokenCounts } = this.#tokenize(impressions);
    const length = this.tokensPerType;
    const dims = [impressions.length * this.#types.length, length];
    const output = await this.#states.run({
      input_ids: new ort.Tensor('int64', ids, dims),
      attention_mask: new ort.Tensor('int64', mask, dims),
    });
    const states = output.states?.data as Float32Array;
    const h = this.#hidden;
    const tokenImpressions = impressions.map((impression, row) => ({
      ...impression,
      history: this.#types.flatMap((type, t) => {
        const count = tokenCounts[row * this.#types.length + t] as number;
        return Array.from({ length: count }, (_, k) => ({ type, behaviorId: `${row}:${t}:${k}` }));
      }),
    }));
    const vector = (id: string): Float32Array => {
      const item = this.#vectors.get(id);
      if (item !== undefined) return item;
      const [row, t, k] = id.split(':').map(Number) as [number, number, number];
      const offset = ((row * this.#types.length + t) * length + k) * h;
      return states.subarray(offset, offset + h);
    };
    return { tokenImpressions, vector };
  }

  #tokenize(impressions: readonly TrainingImpression[]) {
    const length = this.tokensPerType;
    const sequences = impressions.length * this.#types.length;
    const ids = new BigInt64Array(sequences * length);
    const mask = new BigInt64Array(sequences * length);
    const tokenCounts = new Int32Array(sequences);
    impressions.forEach((impression, row) => {
      this.#types.forEach((type, t) => {
        // Newest behaviors first until the sequence is full, then laid out oldest first.
        const chosen: number[][] = [];
        let used = 0;
        const ofType = impression.history.filter((b) => b.type === type);
        for (let i = ofType.length - 1; i >= 0; i -= 1) {
          const pieces = this.#pieces.get((ofType[i] as { behaviorId: string }).behaviorId) ?? [];
          if (used + pieces.length > length) break;
          chosen.push(pieces);
          used += pieces.length;
        }
        const base = (row * this.#types.length + t) * length;
        let k = 0;
        for (const pieces of chosen.reverse()) {
          for (const id of pieces) {
            ids[base + k] = BigInt(id);
            mask[base + k] = 1n;
            k += 1;
          }
        }
        tokenCounts[row * this.#types.length + t] = k;
      });
    });
    return { ids, mask, tokenCounts };
  }

  async close(): Promise<void> {
    await this.#states.release();
  }
}
