/**
 * MovieLens-100K's official split (ua.base / ua.test) as training impressions, and every title's
 * vector from the service's encoder. A behavior's vector depends only on its text, so behaviors and
 * candidates are keyed `item:<movie id>` here.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OnnxEncoder } from '../src/encoder/onnx-encoder.js';
import { MOVIELENS_LIKED_MIN_RATING } from '../src/sources/movielens.js';
import {
  type MovieLensRatings,
  parseItems,
  parseRatings,
  sortByTime,
} from '../src/sources/movielens-files.js';
import type { TrainingImpression } from '../src/trainer/batch.js';

export interface MovieLensSplit {
  titles: Map<number, string>;
  /** ua.base in time order, one impression per rating, history = the user's earlier ua.base ratings. */
  train: TrainingImpression[];
  /** ua.test in time order; history = the user's ua.base ratings before it in time. */
  test: TrainingImpression[];
}

export const itemKey = (item: number): string => `item:${item}`;

export async function readSplit(dir: string, maxHistoryPerType: number): Promise<MovieLensSplit> {
  const titles = parseItems((await readFile(path.join(dir, 'u.item'))).toString('latin1'), 'u.item');
  const read = async (name: string) =>
    sortByTime(parseRatings((await readFile(path.join(dir, name))).toString('latin1'), name, titles));
  const base = await read('ua.base');
  const test = await read('ua.test');
  return { titles, ...impressionsOf(base, test, maxHistoryPerType) };
}

function impressionsOf(base: MovieLensRatings, test: MovieLensRatings, depth: number) {
  const histories = new Map<number, Array<{ type: string; behaviorId: string; time: number }>>();
  const train: TrainingImpression[] = [];
  const impression = (ratings: MovieLensRatings, k: number, history: TrainingImpression['history']) => ({
    userId: String(ratings.users[k]),
    itemId: String(ratings.items[k]),
    itemBehaviorId: itemKey(ratings.items[k] as number),
    history,
    label: ((ratings.ratings[k] as number) >= MOVIELENS_LIKED_MIN_RATING ? 1 : 0) as 0 | 1,
  });

  for (let k = 0; k < base.count; k += 1) {
    const user = base.users[k] as number;
    const past = histories.get(user) ?? [];
    train.push(impression(base, k, recent(past, past.length, depth)));
    past.push({
      type: (base.ratings[k] as number) >= MOVIELENS_LIKED_MIN_RATING ? 'liked' : 'disliked',
      behaviorId: itemKey(base.items[k] as number),
      time: base.timestamps[k] as number,
    });
    histories.set(user, past);
  }

  const testImpressions: TrainingImpression[] = [];
  for (let k = 0; k < test.count; k += 1) {
    const past = histories.get(test.users[k] as number) ?? [];
    const time = test.timestamps[k] as number;
    let end = 0;
    while (end < past.length && (past[end]?.time as number) < time) end += 1;
    testImpressions.push(impression(test, k, recent(past, end, depth)));
  }
  return { train, test: testImpressions };
}

/** The last `depth` behaviors of each type among `past[0..end)`, oldest first. */
function recent(past: ReadonlyArray<{ type: string; behaviorId: string }>, end: number, depth: number) {
  const kept: Array<{ type: string; behaviorId: string }> = [];
  const counts = new Map<string, number>();
  for (let i = end - 1; i >= 0; i -= 1) {
    const behavior = past[i] as { type: string; behaviorId: string };
    const count = counts.get(behavior.type) ?? 0;
    if (count >= depth) continue;
    counts.set(behavior.type, count + 1);
    kept.push({ type: behavior.type, behaviorId: behavior.behaviorId });
  }
  return kept.reverse();
}

/** Every title's vector, keyed as the impressions name them. */
export async function titleVectors(encoder: OnnxEncoder, titles: Map<number, string>) {
  const ids = [...titles.keys()];
  const vectors = await encoder.encode(ids.map((id) => titles.get(id) as string));
  return new Map(ids.map((id, index) => [itemKey(id), vectors[index] as Float32Array]));
}
