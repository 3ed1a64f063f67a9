import { BaheError, ErrorCode } from '../errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Milliseconds of a duration such as `30d`, `12h`, `90m`, `45s`, `2w` or `500ms`. */
export function parseDuration(text: string, field: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `--${field} is ${JSON.stringify(text)}; accepted: a positive number with a unit, ms, s, m, h, d or w (e.g. 30d)`,
      { context: { field } },
    );
  }
  return ms;
}
