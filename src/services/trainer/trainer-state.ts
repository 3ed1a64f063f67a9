/** Between the trainer's in-memory state, its checkpoints and the model-update events it publishes. */
import type { ModelUpdateEvent } from '../../events/types.js';
import type { ModelIdentity } from '../../trainer/checkpoint.js';
import type { Trainer } from '../../trainer/trainer.js';

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
