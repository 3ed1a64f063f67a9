/** Between the trainer's in-memory state, its checkpoints and the model-update events it publishes. */
import type { ModelUpdateEvent } from '../../events/types.js';
import type { Checkpoint, ModelIdentity } from '../../trainer/checkpoint.js';
import type { RunningMetricsState } from '../../trainer/metrics.js';
import type { Trainer, TrainerSnapshot } from '../../trainer/trainer.js';
import type { KafkaSourcePosition } from './ledger.js';

/** The `metrics` of a checkpoint: the same layout `bahe run` writes. */
interface CheckpointMetrics {
  bahe: RunningMetricsState;
  baseline: RunningMetricsState;
}

export function checkpointOf(
  model: ModelIdentity,
  snapshot: TrainerSnapshot,
  position: KafkaSourcePosition,
): Checkpoint {
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

/** The model version of a checkpoint: the model's name and the training step its parameters reached. */
export function modelVersion(model: ModelIdentity, step: number): string {
  return `${model.modelName}-step-${step}`;
}

/** The event announcing a checkpoint; metrics that are not finite yet (AUC before both labels) are left out. */
export function modelUpdateOf(model: ModelIdentity, trainer: Trainer, location: string): ModelUpdateEvent {
  const candidates: Record<string, number> = {
    auc: trainer.metrics.auc(),
    logLoss: trainer.metrics.logLoss,
    baselineAuc: trainer.baselineMetrics.auc(),
    baselineLogLoss: trainer.baselineMetrics.logLoss,
    samples: trainer.samples,
  };
  const metrics = Object.fromEntries(
    Object.entries(candidates).filter(([, value]) => Number.isFinite(value)),
  );
  return {
    version: modelVersion(model, trainer.step),
    step: trainer.step,
    createdAtMs: Date.now(),
    metrics,
    location,
  };
}
