/**
 * The MIND news-recommendation format as a bahe event stream: each impression row's candidates become
 * impression events and the user's clicks become behavior events, typed by news category.
 */
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';
import type { BehaviorEvent, HistoryBehavior, ImpressionEvent } from '../events/types.js';
import {
  type MindNews,
  type MindRow,
  parseMindBehaviors,
  parseMindCandidates,
  parseMindNews,
  readMindFile,
  splitSpaces,
} from './mind-files.js';

export const MIND_DEFAULTS = Object.freeze({
  maxHistory: 50,
  maxRows: Number.POSITIVE_INFINITY,
  source: 'mind',
});

export interface MindOptions {
  /** Folder with `behaviors.tsv` and `news.tsv`. */
  dir: string;
  /** Most recent behaviors kept in each impression's history. */
  maxHistory?: number;
  /** Use only the first `maxRows` impression rows in time order. */
  maxRows?: number;
  /** The `source` field of every event. */
  source?: string;
}

/** One event of the MIND stream, tagged with its kind and its position in the stream. */
export type MindEvent =
  | { kind: 'ImpressionEvent'; index: number; event: ImpressionEvent }
  | { kind: 'BehaviorEvent'; index: number; event: BehaviorEvent };

/** What the stream holds and what it had to leave out, known before it is read. */
export interface MindCounts {
  rows: number;
  behaviorEvents: number;
  impressionEvents: number;
  /** History entries (per row) whose news id has no title in news.tsv; left out of histories and behaviors. */
  historyEntriesWithoutTitle: number;
  /** Candidates whose news id has no title; no impression event is made for them. */
  candidatesWithoutTitle: number;
}

export interface MindStream extends AsyncIterable<MindEvent> {
  /** Events the stream yields. */
  readonly total: number;
  readonly counts: Readonly<MindCounts>;
  readonly newsCount: number;
  readonly userCount: number;
}

/**
 * Opens a MIND folder. Rows are replayed in time order (time read as UTC). Per row: first the user's
 * MIND history entries not yet seen for that user become behavior events (id `mind:<user>:<news>:h`),
 * then one impression event per titled candidate (`mind:<impression>:<position>`), whose history is the
 * row's titled history plus the user's earlier clicks in the stream, then one behavior event per click
 * (`mind:<impression>:<news>:c`). A behavior's type is `news_<category>`, its text the title.
 *
 * Limitation: the whole behaviors.tsv is held in memory to sort it by time (about twice the file
 * size), which suits MIND-small; MIND-large needs a presorted file and a streaming reader.
 */
export async function openMind(options: MindOptions): Promise<MindStream> {
  const settings = checkOptions(options);
  const [behaviorsText, newsText] = await Promise.all([
    readMindFile(options.dir, 'behaviors.tsv'),
    readMindFile(options.dir, 'news.tsv'),
  ]);
  const news = parseMindNews(newsText, path.join(options.dir, 'news.tsv'));
  const behaviorsFile = path.join(options.dir, 'behaviors.tsv');
  const rows = parseMindBehaviors(behaviorsText, behaviorsFile).slice(0, settings.maxRows);

  // A first pass counts what the stream holds, so progress has a total and skips are known up front.
  const counts: MindCounts = {
    rows: rows.length,
    behaviorEvents: 0,
    impressionEvents: 0,
    historyEntriesWithoutTitle: 0,
    candidatesWithoutTitle: 0,
  };
  for (const item of generateEvents(rows, news, settings, behaviorsFile, counts)) {
    if (item.kind === 'BehaviorEvent') counts.behaviorEvents++;
    else counts.impressionEvents++;
  }

  return {
    total: counts.behaviorEvents + counts.impressionEvents,
    counts,
    newsCount: news.size,
    userCount: new Set(rows.map((row) => row.userId)).size,
    async *[Symbol.asyncIterator]() {
      yield* generateEvents(rows, news, settings, behaviorsFile, undefined);
    },
  };
}

/** `news_<category>`, folded to the behavior-type alphabet [a-z0-9_] and 64 characters. */
export function mindBehaviorType(category: string): string {
  const folded = category.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  return `news_${folded === '' ? 'unknown' : folded}`.slice(0, 64);
}

interface Settings {
  maxHistory: number;
  maxRows: number;
  source: string;
}

function* generateEvents(
  rows: readonly MindRow[],
  news: ReadonlyMap<string, MindNews>,
  settings: Settings,
  file: string,
  counts: MindCounts | undefined,
): Generator<MindEvent> {
  const historySeen = new Map<string, Set<string>>();
  const clicks = new Map<string, HistoryBehavior[]>();
  let index = 0;

  for (const row of rows) {
    const { userId, timestampMs } = row;
    const common = { userId, timestampMs, source: settings.source };
    const seen = historySeen.get(userId) ?? new Set<string>();
    historySeen.set(userId, seen);

    const rowHistory: HistoryBehavior[] = [];
    for (const newsId of splitSpaces(row.history)) {
      const behavior = behaviorOf(news.get(newsId));
      if (!behavior) {
        if (counts) counts.historyEntriesWithoutTitle++;
        continue;
      }
      rowHistory.push(behavior);
      if (seen.has(newsId)) continue;
      seen.add(newsId);
      const event: BehaviorEvent = { eventId: `mind:${userId}:${newsId}:h`, ...behavior, ...common };
      yield { kind: 'BehaviorEvent', index: index++, event };
    }

    const history = [...rowHistory, ...(clicks.get(userId) ?? [])].slice(-settings.maxHistory);
    const candidates = parseMindCandidates(row, file);
    const clicked: { newsId: string; behavior: HistoryBehavior }[] = [];
    for (const [position, candidate] of candidates.entries()) {
      const behavior = behaviorOf(news.get(candidate.newsId));
      if (!behavior) {
        if (counts) counts.candidatesWithoutTitle++;
        continue;
      }
      const event: ImpressionEvent = {
        eventId: `mind:${row.impressionId}:${position}`,
        itemId: candidate.newsId,
        itemText: behavior.text,
        history,
        label: candidate.label,
        ...common,
      };
      yield { kind: 'ImpressionEvent', index: index++, event };
      if (candidate.label === 1) clicked.push({ newsId: candidate.newsId, behavior });
    }

    for (const { newsId, behavior } of clicked) {
      const event: BehaviorEvent = {
        eventId: `mind:${row.impressionId}:${newsId}:c`,
        ...behavior,
        ...common,
      };
      yield { kind: 'BehaviorEvent', index: index++, event };
    }
    if (clicked.length > 0) {
      const earlier = clicks.get(userId) ?? [];
      clicks.set(userId, [...earlier, ...clicked.map((c) => c.behavior)].slice(-settings.maxHistory));
    }
  }
}

function behaviorOf(item: MindNews | undefined): HistoryBehavior | undefined {
  if (item === undefined || item.title === '') return undefined;
  return { type: mindBehaviorType(item.category), text: item.title };
}

function checkOptions(options: MindOptions): Settings {
  const settings: Settings = {
    maxHistory: options.maxHistory ?? MIND_DEFAULTS.maxHistory,
    maxRows: options.maxRows ?? MIND_DEFAULTS.maxRows,
    source: options.source ?? MIND_DEFAULTS.source,
  };
  if (!Number.isInteger(settings.maxHistory) || settings.maxHistory < 0 || settings.maxHistory > 10_000) {
    throw invalid('maxHistory', `maxHistory must be an integer in [0, 10000], got ${settings.maxHistory}`);
  }
  const rowsOk =
    settings.maxRows === Number.POSITIVE_INFINITY ||
    (Number.isInteger(settings.maxRows) && settings.maxRows >= 0);
  if (!rowsOk) throw invalid('maxRows', `maxRows must be a non-negative integer, got ${settings.maxRows}`);
  if (settings.source === '') throw invalid('source', 'source must be a non-empty string');
  return settings;
}

function invalid(field: string, message: string): BaheError {
  return new BaheError(ErrorCode.CONFIG_INVALID, message, { context: { field } });
}
