import { BaheError, ErrorCode } from '../errors.js';

/** Limits on behavior texts and types; `maxChars` counts Unicode code points after normalisation. */
export const BEHAVIOR_TEXT_DEFAULTS = Object.freeze({ maxChars: 1000 });

export interface BehaviorTextOptions {
  maxChars?: number;
}

/** Behavior types are short snake_case names such as `liked` or `search_query`. */
export const BEHAVIOR_TYPE_PATTERN = /^[a-z0-9_]{1,64}$/;

// `\s` already covers tabs, newlines, NBSP, U+2028/2029, U+3000 and U+FEFF; the zero-width space,
// joiners and word joiner are not whitespace to JavaScript, yet they split or glue words invisibly.
// Control characters (C0, DEL, C1 such as U+0085) carry no text and the tokenizer drops them.
const SEPARATOR_RUN = /[\s\p{Cc}\u200B-\u200D\u2060]+/gu;
// A soft hyphen only marks where a word may break: "co\u00ADoperate" is "cooperate".
const SOFT_HYPHEN = /\u00AD/gu;

/**
 * Puts a behavior text in the one form its identity is computed from: NFKC, lowercase (locale
 * independent), soft hyphens dropped, every whitespace, control or zero-width run made one space,
 * trimmed.
 */
export function normalizeBehaviorText(text: string, options: BehaviorTextOptions = {}): string {
  const maxChars = checkMaxChars(options.maxChars ?? BEHAVIOR_TEXT_DEFAULTS.maxChars);
  if (typeof text !== 'string') {
    throw new BaheError(
      ErrorCode.BEHAVIOR_TEXT_INVALID,
      `a behavior text must be a string, got ${typeof text}`,
      {
        context: { field: 'text' },
      },
    );
  }

  // Lowercasing can produce sequences NFKC would compose differently (e.g. U+0130), so normalise again
  // after it; this keeps normalizeBehaviorText idempotent.
  const normalized = text
    .normalize('NFKC')
    .toLowerCase()
    .normalize('NFKC')
    .replace(SOFT_HYPHEN, '')
    .replace(SEPARATOR_RUN, ' ')
    .trim();

  if (normalized.length === 0) {
    throw new BaheError(
      ErrorCode.BEHAVIOR_TEXT_INVALID,
      'behavior text is empty after normalisation (only whitespace or invisible characters); drop the behavior upstream',
      { context: { field: 'text' } },
    );
  }
  // UTF-16 length is an upper bound of the code point count, so the exact count is only needed near the limit.
  if (normalized.length > maxChars) {
    const chars = countCodePoints(normalized);
    if (chars > maxChars) {
      throw new BaheError(
        ErrorCode.BEHAVIOR_TEXT_INVALID,
        `behavior text has ${chars} characters after normalisation, more than maxChars=${maxChars}; ` +
          'shorten or split the behavior upstream, or raise maxChars (the encoder truncates to its token limit anyway)',
        { context: { field: 'text', chars, maxChars } },
      );
    }
  }
  return normalized;
}

/** Throws `BAHE_BEHAVIOR_TEXT_INVALID` unless `type` is a short `[a-z0-9_]+` name; returns it. */
export function validateBehaviorType(type: string): string {
  if (typeof type !== 'string' || !BEHAVIOR_TYPE_PATTERN.test(type)) {
    const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 80)) : typeof type;
    throw new BaheError(
      ErrorCode.BEHAVIOR_TEXT_INVALID,
      `behavior type ${shown} is not a name of 1 to 64 characters from [a-z0-9_]; use names such as "liked"`,
      { context: { field: 'type' } },
    );
  }
  return type;
}

function checkMaxChars(maxChars: number): number {
  if (!Number.isInteger(maxChars) || maxChars < 1 || maxChars > 1_000_000) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `maxChars must be an integer in [1, 1000000], got ${maxChars}`,
      {
        context: { field: 'maxChars' },
      },
    );
  }
  return maxChars;
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
