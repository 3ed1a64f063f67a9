/** Opens the dataset `bahe produce` replays, as one stream of tagged events. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';
import type { BehaviorEvent, ImpressionEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import { SHARED_DATA_DIR } from '../paths.js';
import { type MindCounts, openMind } from '../sources/mind.js';
import { openMovieLens100k } from '../sources/movielens.js';

export type DatasetEvent =
  | { kind: 'ImpressionEvent'; event: ImpressionEvent }
  | { kind: 'BehaviorEvent'; event: BehaviorEvent };

export interface Dataset {
  name: 'movielens' | 'mind';
  dir: string | undefined;
  /** Events the replay will produce (after `skipEvents` and `maxEvents`). */
  total: number;
  events: AsyncIterable<DatasetEvent>;
  /** MIND only: what the reader left out for want of titles. */
  mindCounts?: MindCounts;
}

export interface DatasetOptions {
  dataset: 'movielens' | 'mind';
  data?: string | undefined;
  cacheDir: string;
  /** Events of the stream left out before the replay starts. */
  skipEvents: number;
  /** Events produced after the skipped ones; 0 for all. */
  maxEvents: number;
  maxHistory: number;
  logger: Logger;
}

export async function openDataset(options: DatasetOptions): Promise<Dataset> {
  const skip = options.skipEvents;
  const limit = options.maxEvents === 0 ? Number.POSITIVE_INFINITY : options.maxEvents;
  if (options.dataset === 'movielens') {
    const shared = path.join(SHARED_DATA_DIR, 'movielens-100k');
    const dir = options.data ?? (existsSync(shared) ? shared : undefined);
    const stream = await openMovieLens100k({
      ...(dir === undefined ? {} : { dir }),
      cacheDir: options.cacheDir,
      // Each rating gives two events, so this reads no more ratings than the limit needs.
      ...(limit === Number.POSITIVE_INFINITY ? {} : { maxImpressions: Math.ceil((skip + limit) / 2) }),
      logger: options.logger,
    });
    return {
      name: 'movielens',
      dir,
      total: remaining(stream.total, skip, limit),
      events: take(stream, skip, limit),
    };
  }

  const shared = path.join(SHARED_DATA_DIR, 'mind-small-sample');
  const dir = options.data ?? (existsSync(shared) ? shared : undefined);
  if (dir === undefined) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      'MIND is not downloaded by bahe (its terms require accepting them first); pass --data <folder with behaviors.tsv and news.tsv>',
      { context: { field: 'data' } },
    );
  }
  const stream = await openMind({ dir, maxHistory: options.maxHistory });
  return {
    name: 'mind',
    dir,
    total: remaining(stream.total, skip, limit),
    events: take(stream, skip, limit),
    mindCounts: { ...stream.counts },
  };
}

function remaining(total: number, skip: number, limit: number): number {
  return Math.min(Math.max(total - skip, 0), limit);
}

/** The events of `source` after the first `skip`, at most `limit` of them. */
async function* take(
  source: AsyncIterable<DatasetEvent>,
  skip: number,
  limit: number,
): AsyncGenerator<DatasetEvent> {
  if (limit <= 0) return;
  let index = 0;
  let count = 0;
  for await (const item of source) {
    if (index++ < skip) continue;
    yield item;
    if (++count >= limit) return;
  }
}
