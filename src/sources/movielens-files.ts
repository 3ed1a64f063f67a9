import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';

/** The ratings of a MovieLens folder in time order, as parallel columns (a few MiB for 100,000 ratings). */
export interface MovieLensRatings {
  count: number;
  users: Int32Array;
  items: Int32Array;
  /** 1 to 5. */
  ratings: Uint8Array;
  /** Unix time in seconds, as in `u.data`. */
  timestamps: Float64Array;
}

export interface MovieLensData {
  ratings: MovieLensRatings;
  /** Movie id -> title, decoded from Latin-1. */
  titles: Map<number, string>;
  userCount: number;
  /** sha256 over `u.data` then `u.item`: which data a stream position refers to. */
  fingerprint: string;
}

/** The two files a MovieLens-100K folder must hold. */
export const MOVIELENS_FILES = ['u.data', 'u.item'] as const;

/** Reads `u.item` and `u.data` from `dir` and sorts the ratings by time, then user, then item. */
export async function readMovieLensFolder(dir: string): Promise<MovieLensData> {
  const [dataBytes, itemBytes] = await Promise.all([
    readDatasetFile(dir, 'u.data'),
    readDatasetFile(dir, 'u.item'),
  ]);
  const titles = parseItems(itemBytes.toString('latin1'), path.join(dir, 'u.item'));
  const ratings = parseRatings(dataBytes.toString('latin1'), path.join(dir, 'u.data'), titles);
  const fingerprint = createHash('sha256').update(dataBytes).update(itemBytes).digest('hex');
  return { ratings: sortByTime(ratings), titles, userCount: new Set(ratings.users).size, fingerprint };
}

async function readDatasetFile(dir: string, name: string): Promise<Buffer> {
  const file = path.join(dir, name);
  try {
    return await readFile(file);
  } catch (cause) {
    throw new BaheError(
      ErrorCode.DATASET_INVALID,
      `${name} is missing or unreadable in ${dir}; point the reader at the extracted ml-100k folder (it holds ` +
        `${MOVIELENS_FILES.join(' and ')}), or give no folder to download the archive from GroupLens`,
      { cause, context: { path: file } },
    );
  }
}

/** `u.item`: `id|title|release date|...`, Latin-1. Only the id and the title are used. */
export function parseItems(text: string, file: string): Map<number, string> {
  const titles = new Map<number, string>();
  forEachLine(text, file, (line, lineNumber) => {
    const fields = line.split('|');
    const id = positiveInt(fields[0]);
    const title = fields[1]?.trim() ?? '';
    if (fields.length < 2 || id === undefined || title === '') {
      throw malformed(
        file,
        lineNumber,
        'expected "<movie id>|<title>|..." with a positive id and a title',
        line,
      );
    }
    if (titles.has(id)) throw malformed(file, lineNumber, `movie id ${id} appears twice`, line);
    titles.set(id, title);
  });
  if (titles.size === 0) throw malformed(file, 0, 'no movies', '');
  return titles;
}

/** `u.data`: `user \t item \t rating \t unix seconds`, in file order. */
export function parseRatings(text: string, file: string, titles: Map<number, string>): MovieLensRatings {
  const users: number[] = [];
  const items: number[] = [];
  const ratings: number[] = [];
  const timestamps: number[] = [];

  forEachLine(text, file, (line, lineNumber) => {
    const fields = line.split('\t');
    const [user, item, rating, seconds] = fields.map(positiveInt);
    if (
      fields.length !== 4 ||
      user === undefined ||
      item === undefined ||
      rating === undefined ||
      seconds === undefined
    ) {
      throw malformed(
        file,
        lineNumber,
        'expected 4 tab-separated positive integers: user, item, rating, unix time',
        line,
      );
    }
    if (rating > 5) throw malformed(file, lineNumber, `rating ${rating} is outside 1 to 5`, line);
    if (!titles.has(item)) throw malformed(file, lineNumber, `movie id ${item} is not in u.item`, line);
    users.push(user);
    items.push(item);
    ratings.push(rating);
    timestamps.push(seconds);
  });

  return {
    count: users.length,
    users: Int32Array.from(users),
    items: Int32Array.from(items),
    ratings: Uint8Array.from(ratings),
    timestamps: Float64Array.from(timestamps),
  };
}

/** Time order with ties broken by user then item; equal keys keep file order (Array sort is stable). */
export function sortByTime(r: MovieLensRatings): MovieLensRatings {
  const order = Array.from({ length: r.count }, (_, i) => i);
  order.sort(
    (a, b) =>
      (r.timestamps[a] ?? 0) - (r.timestamps[b] ?? 0) ||
      (r.users[a] ?? 0) - (r.users[b] ?? 0) ||
      (r.items[a] ?? 0) - (r.items[b] ?? 0),
  );
  return {
    count: r.count,
    users: Int32Array.from(order, (i) => r.users[i] ?? 0),
    items: Int32Array.from(order, (i) => r.items[i] ?? 0),
    ratings: Uint8Array.from(order, (i) => r.ratings[i] ?? 0),
    timestamps: Float64Array.from(order, (i) => r.timestamps[i] ?? 0),
  };
}

function forEachLine(text: string, file: string, visit: (line: string, lineNumber: number) => void): void {
  const lines = text.split('\n');
  // Every line of the MovieLens files ends in a newline, so a file without one was cut short, possibly
  // inside a number that still parses. A final newline leaves one empty piece; any other empty line is
  // an error like any malformed line.
  if (lines.at(-1) !== '') {
    throw malformed(
      file,
      lines.length,
      'the file ends without a newline, so it was probably cut short',
      lines.at(-1) ?? '',
    );
  }
  lines.pop();
  for (const [i, raw] of lines.entries()) visit(raw.endsWith('\r') ? raw.slice(0, -1) : raw, i + 1);
}

function positiveInt(field: string | undefined): number | undefined {
  if (field === undefined || !/^[0-9]{1,15}$/.test(field)) return undefined;
  const value = Number(field);
  return value > 0 ? value : undefined;
}

function malformed(file: string, line: number, problem: string, text: string): BaheError {
  const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return new BaheError(
    ErrorCode.DATASET_INVALID,
    `${file}:${line}: ${problem} (got ${JSON.stringify(shown)}); the file is damaged or not MovieLens-100K, ` +
      'replace it with the original',
    { context: { path: file, line } },
  );
}
