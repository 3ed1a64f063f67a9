import { BaheError, ErrorCode } from '../errors.js';
import type { BehaviorEvent, HistoryBehavior, ImpressionEvent } from '../events/types.js';
import { type Logger, silentLogger } from '../log.js';
import { type ArchiveChecksums, fetchMovieLens100k } from './movielens-fetch.js';
import { type MovieLensData, readMovieLensFolder } from './movielens-files.js';

/** Behavior types of MovieLens histories, in the order of the model's `types` axis. */
export const MOVIELENS_BEHAVIOR_TYPES = ['liked', 'disliked'] as const;

/** A rating of 4 or 5 is `liked` and labels its impression 1; 1 to 3 is `disliked`, label 0. */
export const MOVIELENS_LIKED_MIN_RATING = 4;

export const MOVIELENS_DEFAULTS = Object.freeze({
  maxHistoryPerType: 25,
  startAtEvent: 0,
  maxImpressions: Number.POSITIVE_INFINITY,
  source: 'movielens-100k',
});

export interface MovieLensOptions {
  /** Folder with `u.data` and `u.item`; when absent the archive is fetched from GroupLens into `cacheDir`. */
  dir?: string;
  cacheDir?: string;
  /** Archive to fetch; the GroupLens address by default. */
  url?: string;
  /** Checksums the fetched archive must match; see `fetchMovieLens100k`. */
  checksums?: ArchiveChecksums;
  /** Most recent behaviors kept per type in each impression's history. */
  maxHistoryPerType?: number;
  /** Index of the first event to yield, to resume; earlier events still build the histories. */
  startAtEvent?: number;
  /** Use only the first `maxImpressions` ratings in time order (each gives two events). */
  maxImpressions?: number;
  /** The `source` field of every event. */
  source?: string;
  logger?: Logger;
}

/** One event of the MovieLens stream, tagged with its kind and its position in the stream. */
export type MovieLensEvent =
  | { kind: 'ImpressionEvent'; index: number; event: ImpressionEvent }
  | { kind: 'BehaviorEvent'; index: number; event: BehaviorEvent };

/** The MovieLens events in time order, read lazily; `total` counts the whole stream, skipped events included. */
export interface MovieLensStream extends AsyncIterable<MovieLensEvent> {
  readonly total: number;
  readonly startAtEvent: number;
  readonly ratingCount: number;
  /** Identifies the data read (sha256 of its files), so a saved position is not applied to other data. */
  readonly fingerprint: string;
  readonly userCount: number;
  readonly itemCount: number;
}

/**
 * Opens MovieLens-100K as a stream: for each rating in time order (ties by user, then item), first an
 * impression of the rated movie with the user's earlier behaviors, then the rating's own behavior.
 * Event ids are `ml100k:<user>:<item>:i` and `:b`, so a replay produces the same ids.
 */
export async function openMovieLens100k(options: MovieLensOptions = {}): Promise<MovieLensStream> {
  const settings = checkOptions(options);
  const dir =
    options.dir ??
    (await fetchMovieLens100k({
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(options.checksums === undefined ? {} : { checksums: options.checksums }),
      ...(options.url === undefined ? {} : { url: options.url }),
      logger: options.logger ?? silentLogger(),
    }));
  const data = await readMovieLensFolder(dir);

  const ratingsUsed = Math.min(data.ratings.count, settings.maxImpressions);
  const total = 2 * ratingsUsed;
  return {
    total,
    startAtEvent: settings.startAtEvent,
    ratingCount: data.ratings.count,
    fingerprint: data.fingerprint,
    userCount: data.userCount,
    itemCount: data.titles.size,
    [Symbol.asyncIterator]: () => generateEvents(data, ratingsUsed, settings),
  };
}

interface Settings {
  maxHistoryPerType: number;
  startAtEvent: number;
  maxImpressions: number;
  source: string;
}

async function* generateEvents(data: MovieLensData, ratingsUsed: number, settings: Settings) {
  const { users, items, ratings, timestamps } = data.ratings;
  const histories = new HistoryBook(settings.maxHistoryPerType);
  const title = (item: number) => data.titles.get(item) ?? '';

  for (let k = 0; k < ratingsUsed; k++) {
    const user = users[k] ?? 0;
    const item = items[k] ?? 0;
    const liked = (ratings[k] ?? 0) >= MOVIELENS_LIKED_MIN_RATING;
    const timestampMs = (timestamps[k] ?? 0) * 1000;
    const common = { userId: String(user), timestampMs, source: settings.source };

    if (2 * k >= settings.startAtEvent) {
      const history = histories.history(user, (position) => ({
        type: typeOf((ratings[position] ?? 0) >= MOVIELENS_LIKED_MIN_RATING),
        text: title(items[position] ?? 0),
      }));
      const event: ImpressionEvent = {
        eventId: `ml100k:${user}:${item}:i`,
        itemId: String(item),
        itemText: title(item),
        history,
        label: liked ? 1 : 0,
        ...common,
      };
      yield { kind: 'ImpressionEvent', index: 2 * k, event } satisfies MovieLensEvent;
    }
    if (2 * k + 1 >= settings.startAtEvent) {
      const event: BehaviorEvent = {
        eventId: `ml100k:${user}:${item}:b`,
        type: typeOf(liked),
        text: title(item),
        ...common,
      };
      yield { kind: 'BehaviorEvent', index: 2 * k + 1, event } satisfies MovieLensEvent;
    }
    histories.add(user, liked ? 0 : 1, k);
  }
}

function typeOf(liked: boolean): string {
  return liked ? 'liked' : 'disliked';
}

/**
 * The most recent rating positions per user and type, in fixed rings; memory is users x types x cap.
 * Positions index the time-ordered ratings, so merging by position is merging by time.
 */
class HistoryBook {
  private readonly users = new Map<number, { rings: Int32Array[]; counts: number[] }>();

  constructor(private readonly cap: number) {}

  add(user: number, typeIndex: number, position: number): void {
    let entry = this.users.get(user);
    if (!entry) {
      entry = {
        rings: MOVIELENS_BEHAVIOR_TYPES.map(() => new Int32Array(this.cap)),
        counts: MOVIELENS_BEHAVIOR_TYPES.map(() => 0),
      };
      this.users.set(user, entry);
    }
    const count = entry.counts[typeIndex] ?? 0;
    const ring = entry.rings[typeIndex];
    if (ring) ring[count % this.cap] = position;
    entry.counts[typeIndex] = count + 1;
  }

  /** The kept behaviors of `user`, oldest first across types. */
  history(user: number, describe: (position: number) => HistoryBehavior): HistoryBehavior[] {
    const entry = this.users.get(user);
    if (!entry) return [];
    const positions: number[] = [];
    entry.rings.forEach((ring, t) => {
      const count = entry.counts[t] ?? 0;
      for (let i = Math.max(0, count - this.cap); i < count; i++) positions.push(ring[i % this.cap] ?? 0);
    });
    positions.sort((a, b) => a - b);
    return positions.map(describe);
  }
}

function checkOptions(options: MovieLensOptions): Settings {
  const settings: Settings = {
    maxHistoryPerType: options.maxHistoryPerType ?? MOVIELENS_DEFAULTS.maxHistoryPerType,
    startAtEvent: options.startAtEvent ?? MOVIELENS_DEFAULTS.startAtEvent,
    maxImpressions: options.maxImpressions ?? MOVIELENS_DEFAULTS.maxImpressions,
    source: options.source ?? MOVIELENS_DEFAULTS.source,
  };
  checkInteger('maxHistoryPerType', settings.maxHistoryPerType, 1, 10_000);
  checkInteger('startAtEvent', settings.startAtEvent, 0, Number.MAX_SAFE_INTEGER);
  if (settings.maxImpressions !== Number.POSITIVE_INFINITY) {
    checkInteger('maxImpressions', settings.maxImpressions, 0, Number.MAX_SAFE_INTEGER);
  }
  if (settings.source === '') {
    throw new BaheError(ErrorCode.CONFIG_INVALID, 'source must be a non-empty string', {
      context: { field: 'source' },
    });
  }
  return settings;
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `${field} must be an integer in [${min}, ${max}], got ${value}`,
      {
        context: { field },
      },
    );
  }
}
