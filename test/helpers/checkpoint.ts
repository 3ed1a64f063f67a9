/**
 * Real checkpoints for scorer tests: the default model trained for a few micro-batches on small
 * synthetic impressions (movie titles, clicks that follow the history's genre), written as the
 * trainer writes them.
 */

import { identifyBehavior } from '../../src/behavior/id.js';
import { OnnxEncoder } from '../../src/encoder/onnx-encoder.js';
import type { LoadedModel } from '../../src/model/load.js';
import { ITEM_BEHAVIOR_TYPE } from '../../src/pipeline/impressions.js';
import type { TrainingImpression } from '../../src/trainer/batch.js';
import { writeCheckpoint } from '../../src/trainer/checkpoint.js';
import { checkpointOf, modelIdentity, trainerSettingsFor } from '../../src/trainer/setup.js';
import { Trainer } from '../../src/trainer/trainer.js';
import { openTrainStep } from './model.js';
import { seededRandom } from './random.js';

export const COMEDIES = ['Toy Story (1995)', 'Groundhog Day (1993)', 'Airplane! (1980)', 'Clueless (1995)'];
export const THRILLERS = ['Heat (1995)', 'Se7en (1995)', 'Fargo (1996)', 'The Fugitive (1993)'];

export interface TrainedCheckpoints {
  /** Paths of the checkpoints written, one after each step, oldest first. */
  paths: string[];
  trainer: Trainer;
}

/** Trains `steps` micro-batches from the initial parameters, writing a checkpoint to `dir` after each. */
export async function trainCheckpoints(
  model: LoadedModel,
  dir: string,
  steps: number,
): Promise<TrainedCheckpoints> {
  const graph = await openTrainStep(model);
  const encoder = await OnnxEncoder.fromModel(model, { intraOpThreads: 2 });
  try {
    const settings = trainerSettingsFor(model, {
      learningRateUpper: 1e-3,
      learningRateHead: 1e-2,
      warmupSteps: 0,
    });
    const trainer = new Trainer(settings, graph, model.parameters);
    const vectors = new Map<string, Float32Array>();
    const texts: Array<{ type: string; text: string }> = [];
    for (const text of [...COMEDIES, ...THRILLERS]) {
      for (const type of [...model.manifest.behaviorTypes, ITEM_BEHAVIOR_TYPE]) texts.push({ type, text });
    }
    const encoded = await encoder.encode(texts.map((t) => t.text));
    texts.forEach(({ type, text }, i) => {
      vectors.set(identifyBehavior(type, text).id, encoded[i] as Float32Array);
    });

    const paths: string[] = [];
    const random = seededRandom(5);
    for (let step = 0; step < steps; step += 1) {
      const batch = Array.from({ length: model.manifest.trainBatchSize }, (_, row) =>
        impression(row, random),
      );
      await trainer.trainMicroBatch(batch, (id) => vectors.get(id) as Float32Array);
      const written = await writeCheckpoint(
        dir,
        checkpointOf(modelIdentity(model), trainer.snapshot(), { step }),
      );
      paths.push(written.path);
    }
    return { paths, trainer };
  } finally {
    await graph.close();
    await encoder.close();
  }
}

/** A user who likes one genre, shown a title of either genre; a click when the genres match. */
function impression(row: number, random: () => number): TrainingImpression {
  const likesComedy = row % 2 === 0;
  const liked = likesComedy ? COMEDIES : THRILLERS;
  const pick = (list: string[]) => list[Math.floor(random() * list.length)] as string;
  const showComedy = random() < 0.5;
  const item = pick(showComedy ? COMEDIES : THRILLERS);
  return {
    userId: `u${row % 16}`,
    itemId: item,
    itemBehaviorId: identifyBehavior(ITEM_BEHAVIOR_TYPE, item).id,
    history: [pick(liked), pick(liked)].map((text) => ({
      type: 'liked',
      behaviorId: identifyBehavior('liked', text).id,
    })),
    label: showComedy === likesComedy ? 1 : 0,
  };
}
