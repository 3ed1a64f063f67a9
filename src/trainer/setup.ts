/**
 * What every trainer (the in-process job and the Kafka service) needs from a compiled model: its
 * training options, its trainer settings, its identity, and the mapping to and from checkpoints.
 */
import type { OptionSpecs } from '../config/options.js';
import { BaheError, ErrorCode } from '../errors.js';
import { SIDE_FEATURE_NAMES } from '../features/side-features.js';
import type { LoadedModel } from '../model/load.js';
import { batchShapeOf } from './batch.js';
import { type Checkpoint, type ModelIdentity, parameterLayoutSha256 } from './checkpoint.js';
import type { RunningMetricsState } from './metrics.js';
import type { TrainerSettings, TrainerSnapshot } from './trainer.js';

export const TRAINING_OPTION_SPECS = {
  learningRateUpper: {
    kind: 'number',
    min: 0,
    max: 1,
    description: "Learning rate of the upper (aggregation) layers. Default: the model manifest's.",
  },
  learningRateHead: {
    kind: 'number',
    min: 0,
    max: 1,
    description: "Learning rate of the CTR head. Default: the model manifest's.",
  },
  warmupSteps: {
    kind: 'integer',
    min: 0,
    default: 0,
    description: 'Training steps over which the learning rates rise linearly to their values.',
  },
} as const satisfies OptionSpecs;

export interface TrainingOverrides {
  learningRateUpper: number | undefined;
  learningRateHead: number | undefined;
  warmupSteps: number;
}

/** Trainer settings from the manifest and the caller's overrides; refuses a model whose side features differ. */
export function trainerSettingsFor(model: LoadedModel, overrides: TrainingOverrides): TrainerSettings {
  const { training, parameters, sideFeatures } = model.manifest;
  if (sideFeatures.join(',') !== SIDE_FEATURE_NAMES.join(',')) {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `the model expects side features [${sideFeatures.join(', ')}] but this service computes ` +
        `[${SIDE_FEATURE_NAMES.join(', ')}]; compile the model with --side-features ${SIDE_FEATURE_NAMES.join(',')}`,
      { context: { path: model.dir, field: 'sideFeatures' } },
    );
  }
  const learningRate = { ...training.learningRate };
  if (overrides.learningRateUpper !== undefined) learningRate.upper = overrides.learningRateUpper;
  if (overrides.learningRateHead !== undefined) learningRate.head = overrides.learningRateHead;
  return {
    shape: batchShapeOf(model.manifest),
    parameters: parameters.entries,
    learningRate,
    optimizer: { weightDecay: training.weightDecay },
    warmupSteps: overrides.warmupSteps,
  };
}

export function modelIdentity(model: LoadedModel): ModelIdentity {
  return {
    modelName: model.manifest.name,
    encoderVersion: model.manifest.encoderVersion,
    layoutSha256: parameterLayoutSha256(model.manifest.parameters.entries),
  };
}

/** The `metrics` of a checkpoint: BAHE's and the non-text baseline's running scores. */
interface CheckpointMetrics {
  bahe: RunningMetricsState;
  baseline: RunningMetricsState;
}

/** A checkpoint of `snapshot` at `position` in its source (an event index, or Kafka offsets). */
export function checkpointOf(model: ModelIdentity, snapshot: TrainerSnapshot, position: unknown): Checkpoint {
  const metrics: CheckpointMetrics = { bahe: snapshot.metrics, baseline: snapshot.baseline };
  return {
    model,
    step: snapshot.step,
    samplesSeen: snapshot.samples,
    parameters: snapshot.parameters,
    optimizer: snapshot.optimizer,
    sourcePosition: position,
    metrics,
    sideFeatures: snapshot.features,
  };
}

/** The trainer state a checkpoint holds, to build a `Trainer` that continues from it. */
export function snapshotOf(checkpoint: Checkpoint): TrainerSnapshot {
  const metrics = checkpoint.metrics as CheckpointMetrics;
  return {
    step: checkpoint.step,
    samples: checkpoint.samplesSeen,
    parameters: checkpoint.parameters,
    optimizer: checkpoint.optimizer,
    metrics: metrics.bahe,
    baseline: metrics.baseline,
    features: checkpoint.sideFeatures as TrainerSnapshot['features'],
  };
}
