/**
 * The micro-batch trainer: scores each micro-batch before learning from it (test-then-train), then
 * applies one AdamW step with the gradients of the compiled train-step graph.
 */
import { BaheError, ErrorCode } from '../errors.js';
import { type SideFeatureState, SideFeatures } from '../features/side-features.js';
import { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
import {
  allocateBatch,
  type BatchShape,
  type BatchTensors,
  fillBatch,
  type TrainingImpression,
} from './batch.js';
import { RunningMetrics, type RunningMetricsState } from './metrics.js';
import type { ParameterEntry, TrainStepGraph } from './train-step.js';

export interface TrainableParameter extends ParameterEntry {
  /** Optimizer group, e.g. `upper` or `head`. */
  group: string;
}

export interface TrainerSettings {
  shape: BatchShape;
  parameters: readonly TrainableParameter[];
  /** Learning rate per parameter group. */
  learningRate: Readonly<Record<string, number>>;
  optimizer: Partial<AdamWOptions>;
  /** Steps over which the learning rates rise linearly from near zero to their values; 0 for none. */
  warmupSteps: number;
}

/** Everything needed to continue training exactly where it stopped. */
export interface TrainerSnapshot {
  step: number;
  samples: number;
  parameters: Map<string, Float32Array>;
  optimizer: AdamWState;
  metrics: RunningMetricsState;
  baseline: RunningMetricsState;
  features: SideFeatureState;
}

export interface StepReport {
  step: number;
  rows: number;
  loss: number;
  gradientNorm: number;
}

export class Trainer {
  readonly #settings: TrainerSettings;
  readonly #graph: TrainStepGraph;
  readonly #parameters: Map<string, Float32Array>;
  readonly #optimizer: AdamW;
  readonly #batch: BatchTensors;
  readonly #groupOf: Map<string, string>;
  #metrics: RunningMetrics;
  #baseline: RunningMetrics;
  #features: SideFeatures;
  #step: number;
  #samples: number;
  #lastStep: StepReport | undefined;

  constructor(
    settings: TrainerSettings,
    graph: TrainStepGraph,
    state: TrainerSnapshot | Map<string, Float32Array>,
  ) {
    this.#settings = settings;
    this.#graph = graph;
    this.#groupOf = new Map(settings.parameters.map((p) => [p.name, p.group]));
    for (const group of new Set(this.#groupOf.values())) {
      const rate = settings.learningRate[group];
      if (rate === undefined || !(rate >= 0)) {
        throw new BaheError(
          ErrorCode.CONFIG_INVALID,
          `no valid learning rate for parameter group "${group}"`,
          {
            context: { field: `learningRate.${group}` },
          },
        );
      }
    }

    const snapshot = state instanceof Map ? undefined : state;
    this.#parameters = copyTensors(snapshot?.parameters ?? (state as Map<string, Float32Array>));
    this.#optimizer = new AdamW(this.#parameters, settings.optimizer, snapshot?.optimizer);
    this.#metrics = snapshot ? RunningMetrics.fromJSON(snapshot.metrics) : new RunningMetrics();
    this.#baseline = snapshot ? RunningMetrics.fromJSON(snapshot.baseline) : new RunningMetrics();
    this.#features = snapshot ? SideFeatures.fromJSON(snapshot.features) : new SideFeatures();
    this.#step = snapshot?.step ?? 0;
    this.#samples = snapshot?.samples ?? 0;
    this.#batch = allocateBatch(settings.shape);
  }

  get step(): number {
    return this.#step;
  }

  get samples(): number {
    return this.#samples;
  }

  /** The report of the latest training step of this instance; undefined before its first. */
  get lastStep(): StepReport | undefined {
    return this.#lastStep;
  }

  get metrics(): RunningMetrics {
    return this.#metrics;
  }

  /** The non-text baseline (smoothed per-user and per-item rates) scored on the same impressions. */
  get baselineMetrics(): RunningMetrics {
    return this.#baseline;
  }

  get parameters(): ReadonlyMap<string, Float32Array> {
    return this.#parameters;
  }

  /**
   * Scores `impressions` with the current parameters, records the scores, then takes one training
   * step on them. `vector(id)` returns the stored vector of a behavior id.
   */
  async trainMicroBatch(
    impressions: readonly TrainingImpression[],
    vector: (behaviorId: string) => Float32Array,
  ): Promise<StepReport> {
    const shape = this.#settings.shape;
    const baselineScores: number[] = [];
    fillBatch(shape, this.#batch, impressions, vector, (row, out, offset) => {
      const impression = impressions[row] as TrainingImpression;
      this.#features.write(impression.userId, impression.itemId, out, offset);
      baselineScores.push(this.#features.baselineScore(impression.userId, impression.itemId));
      this.#features.observe(impression.userId, impression.itemId, impression.label);
    });

    const result = await this.#graph.run(this.#parameters, this.#batch);
    if (!Number.isFinite(result.loss)) {
      throw new BaheError(
        ErrorCode.TRAINING_DIVERGED,
        `training loss is ${result.loss} at step ${this.#step + 1}; lower the learning rate or resume from an earlier checkpoint`,
      );
    }

    impressions.forEach((impression, row) => {
      this.#metrics.add(result.logits[row] as number, impression.label);
      this.#baseline.add(baselineScores[row] as number, impression.label);
    });

    const rates = this.#settings.learningRate;
    const { warmupSteps } = this.#settings;
    const warmup = warmupSteps > 0 ? Math.min(1, (this.#step + 1) / warmupSteps) : 1;
    const gradientNorm = this.#optimizer.step(this.#parameters, result.gradients, (name) => {
      return warmup * (rates[this.#groupOf.get(name) as string] as number);
    });
    if (!Number.isFinite(gradientNorm)) {
      throw new BaheError(
        ErrorCode.TRAINING_DIVERGED,
        `gradient norm is ${gradientNorm} at step ${this.#step + 1}; the parameters were not updated from it`,
      );
    }

    this.#step += 1;
    this.#samples += impressions.length;
    this.#lastStep = { step: this.#step, rows: impressions.length, loss: result.loss, gradientNorm };
    return this.#lastStep;
  }

  /** A deep copy of the training state, for checkpoints. */
  snapshot(): TrainerSnapshot {
    const optimizer = this.#optimizer.state;
    return {
      step: this.#step,
      samples: this.#samples,
      parameters: copyTensors(this.#parameters),
      optimizer: {
        step: optimizer.step,
        firstMoment: copyTensors(optimizer.firstMoment),
        secondMoment: copyTensors(optimizer.secondMoment),
      },
      metrics: this.#metrics.toJSON(),
      baseline: this.#baseline.toJSON(),
      features: this.#features.toJSON(),
    };
  }
}

function copyTensors(tensors: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...tensors].map(([name, value]) => [name, Float32Array.from(value)]));
}
