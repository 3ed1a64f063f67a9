/** Parsing of the MIND news-recommendation files: `news.tsv` and `behaviors.tsv` (tab-separated, no header). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';

/** The fields of a `news.tsv` row that the reader uses. */
export interface MindNews {
  category: string;
  subcategory: string;
  title: string;
}

/** One `behaviors.tsv` row, its lists still unparsed so that a large file stays small in memory. */
export interface MindRow {
  impressionId: string;
  userId: string;
  timestampMs: number;
  /** Space-separated news ids, oldest first; may be empty. */
  history: string;
  /** Space-separated `<news id>-<label>` tokens, label 1 for a click. */
  impressions: string;
  line: number;
}

export interface MindCandidate {
  newsId: string;
  label: 0 | 1;
}

export const MIND_FILES = ['behaviors.tsv', 'news.tsv'] as const;

const TIME_PATTERN = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (AM|PM)$/;

/**
 * MIND's `11/15/2019 8:55:22 AM` (month/day/year, 12-hour clock) as Unix milliseconds. MIND gives no
 * zone; it is read as UTC so that every machine gets the same instant. Undefined when malformed.
 */
export function parseMindTime(text: string): number | undefined {
  const match = TIME_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [month, day, year, hour12, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    hour12 < 1 ||
    hour12 > 12 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  const hour = (hour12 % 12) + (match[7] === 'PM' ? 12 : 0);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2/30 over into March; a date that does not round-trip does not exist.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

/** `news.tsv`: id, category, subcategory, title, abstract, url, entities... Rows with an empty title are kept. */
export function parseMindNews(text: string, file: string): Map<string, MindNews> {
  const news = new Map<string, MindNews>();
  forEachLine(text, (line, lineNumber) => {
    const fields = line.split('\t');
    const [id = '', category = '', subcategory = '', title = ''] = fields;
    if (fields.length < 4 || id === '') {
      throw malformed(
        file,
        lineNumber,
        'expected at least 4 tab-separated fields: id, category, subcategory, title',
      );
    }
    news.set(id, { category, subcategory, title: title.trim() });
  });
  return news;
}

/** `behaviors.tsv` rows sorted by time, then impression id, so replays are in time order. */
export function parseMindBehaviors(text: string, file: string): MindRow[] {
  const rows: MindRow[] = [];
  forEachLine(text, (line, lineNumber) => {
    const fields = line.split('\t');
    const [impressionId = '', userId = '', time = '', history = '', impressions = ''] = fields;
    if (fields.length !== 5 || impressionId === '' || userId === '') {
      throw malformed(
        file,
        lineNumber,
        'expected 5 tab-separated fields: impression id, user, time, history, impressions',
      );
    }
    const timestampMs = parseMindTime(time);
    if (timestampMs === undefined) {
      throw malformed(file, lineNumber, `time ${JSON.stringify(time)} is not M/D/YYYY h:mm:ss AM|PM`);
    }
    rows.push({ impressionId, userId, timestampMs, history, impressions, line: lineNumber });
  });
  return rows.sort((a, b) => a.timestampMs - b.timestampMs || compareIds(a.impressionId, b.impressionId));
}

/** The candidates of a row; a token that is not `<id>-0` or `<id>-1` fails naming the line. */
export function parseMindCandidates(row: MindRow, file: string): MindCandidate[] {
  const candidates: MindCandidate[] = [];
  for (const token of splitSpaces(row.impressions)) {
    const dash = token.lastIndexOf('-');
    const label = token.slice(dash + 1);
    if (dash < 1 || (label !== '0' && label !== '1')) {
      throw malformed(
        file,
        row.line,
        `impression ${JSON.stringify(token)} is not <news id>-0 or <news id>-1`,
      );
    }
    candidates.push({ newsId: token.slice(0, dash), label: label === '1' ? 1 : 0 });
  }
  return candidates;
}

export function splitSpaces(text: string): string[] {
  return text.split(' ').filter((token) => token !== '');
}

/** Reads one of the MIND files from `dir`, failing with what the folder must hold. */
export async function readMindFile(dir: string, name: (typeof MIND_FILES)[number]): Promise<string> {
  const file = path.join(dir, name);
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new BaheError(
      ErrorCode.DATASET_INVALID,
      `${name} is missing or unreadable in ${dir}; point the reader at a MIND folder holding ${MIND_FILES.join(' and ')}`,
      { cause, context: { path: file } },
    );
  }
}

function forEachLine(text: string, visit: (line: string, lineNumber: number) => void): void {
  let start = 0;
  let lineNumber = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNumber++;
    const line = text.slice(start, text[end - 1] === '\r' ? end - 1 : end);
    if (line !== '') visit(line, lineNumber);
    start = end + 1;
  }
}

// Impression ids are decimal in MIND; compare them as numbers when they are, so 30 sorts before 100.
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function malformed(file: string, line: number, what: string): BaheError {
  return new BaheError(ErrorCode.DATASET_INVALID, `${file} line ${line}: ${what}; is this a MIND file?`, {
    context: { path: file, line },
  });
}
