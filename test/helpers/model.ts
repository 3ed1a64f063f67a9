import { openSession } from '../../src/encoder/ort-session.js';
import { type LoadedModel, loadModel } from '../../src/model/load.js';
import { type BatchShape, batchShapeOf as batchShapeFromManifest } from '../../src/trainer/batch.js';
import { TrainStepGraph } from '../../src/trainer/train-step.js';
import { defaultModelDir } from './data.js';

let cached: Promise<LoadedModel> | undefined;

/** The committed default model, loaded once per test process. */
export function defaultModel(): Promise<LoadedModel> {
  cached ??= loadModel(defaultModelDir);
  return cached;
}

export function batchShapeOf(model: LoadedModel): BatchShape {
  return batchShapeFromManifest(model.manifest);
}

export async function openTrainStep(model: LoadedModel): Promise<TrainStepGraph> {
  const session = await openSession(model.files.trainStep, { intraOpThreads: 2 });
  return new TrainStepGraph(session, model.manifest.parameters.entries, batchShapeOf(model));
}
