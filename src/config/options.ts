/**
 * Declarative command options: each option is described once and can be given as a flag
 * (`--max-impressions 5000`) or an environment variable (`BAHE_MAX_IMPRESSIONS=5000`); flags win.
 * Values are checked once, here, and a bad one fails naming the flag, the variable and what is accepted.
 */
import { BaheError, ErrorCode } from '../errors.js';

interface BaseSpec {
  description: string;
  /** Never echoed in errors, help defaults or logs. */
  secret?: boolean;
}

export interface StringSpec extends BaseSpec {
  kind: 'string';
  default?: string;
  choices?: readonly string[];
}

export interface NumberSpec extends BaseSpec {
  kind: 'integer' | 'number';
  default?: number;
  min?: number;
  max?: number;
}

export interface BooleanSpec extends BaseSpec {
  kind: 'boolean';
  default?: boolean;
}

export type OptionSpec = StringSpec | NumberSpec | BooleanSpec;
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S extends NumberSpec ? number : S extends BooleanSpec ? boolean : string;

/** The parsed options: an option with a default is always present. */
export type ParsedOptions<S extends OptionSpecs> = {
  [K in keyof S]: S[K] extends { default: unknown } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(key: string): string {
  return `BAHE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export interface ParseResult<S extends OptionSpecs> {
  options: ParsedOptions<S>;
  positionals: string[];
  help: boolean;
}

export interface ParseSettings {
  /** Whether bare words (not flags) are accepted; a command that takes none refuses them. */
  allowPositionals?: boolean;
}

/**
 * Parses flags and environment against `specs`; throws BAHE_CONFIG_INVALID on the first bad value.
 * Flags are `--name value`, `--name=value`, and for booleans `--name` / `--no-name`; `--` ends them.
 */
export function parseOptions<S extends OptionSpecs>(
  specs: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  settings: ParseSettings = {},
): ParseResult<S> {
  const byFlag = new Map(Object.entries(specs).map(([key, spec]) => [flagName(key), { key, spec }]));
  const fromFlags = new Map<string, string | boolean>();
  const positionals: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i] as string;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('--')) {
      positionals.push(token);
      continue;
    }
    const [name, inline] = splitFlag(token.slice(2));
    if (name === 'help') {
      help = true;
      continue;
    }
    const negated = name.startsWith('no-') ? byFlag.get(name.slice(3)) : undefined;
    if (negated?.spec.kind === 'boolean' && inline === undefined) {
      fromFlags.set(negated.key, false);
      continue;
    }
    const option = byFlag.get(name);
    if (option === undefined) throw unknownFlag(name, [...byFlag.keys()]);
    if (option.spec.kind === 'boolean') {
      fromFlags.set(option.key, inline ?? true);
      continue;
    }
    const value = inline ?? argv[i + 1];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new BaheError(
        ErrorCode.CONFIG_INVALID,
        `--${name} needs a value; run with --help to list the options`,
        {
          context: { field: option.key },
        },
      );
    }
    if (inline === undefined) i += 1;
    fromFlags.set(option.key, value);
  }

  if (positionals.length > 0 && !settings.allowPositionals) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `unexpected argument ${JSON.stringify(positionals[0])}: this command takes only options ` +
        '(--name value); run with --help to list them',
    );
  }

  const options: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const fromFlag = fromFlags.get(key);
    const fromEnv = env[envName(key)];
    const raw = fromFlag ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
    const source = fromFlag !== undefined ? `--${flagName(key)}` : envName(key);
    options[key] = raw === undefined ? spec.default : coerce(key, spec, raw, source);
  }
  return { options: options as ParsedOptions<S>, positionals, help };
}

function splitFlag(body: string): [string, string | undefined] {
  const equals = body.indexOf('=');
  return equals === -1 ? [body, undefined] : [body.slice(0, equals), body.slice(equals + 1)];
}

function unknownFlag(name: string, known: string[]): BaheError {
  const nearest = known
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .sort((a, b) => a.distance - b.distance)[0];
  const close = nearest !== undefined && nearest.distance <= Math.max(2, Math.floor(name.length / 4));
  const hint = close ? ` (did you mean --${nearest.candidate}?)` : '';
  return new BaheError(
    ErrorCode.CONFIG_INVALID,
    `unknown option --${name}${hint}; run with --help to list the options`,
    { context: { field: name } },
  );
}

/** Levenshtein distance, for suggesting the flag a typo meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

function coerce(key: string, spec: OptionSpec, raw: string | boolean, source: string): unknown {
  const fail = (accepted: string): never => {
    const shown = spec.secret ? '[redacted]' : JSON.stringify(raw);
    throw new BaheError(ErrorCode.CONFIG_INVALID, `${source} is ${shown}; accepted: ${accepted}`, {
      context: { field: key },
    });
  };

  switch (spec.kind) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return fail('true or false');
    }
    case 'string': {
      const value = String(raw);
      if (spec.choices !== undefined && !spec.choices.includes(value)) return fail(spec.choices.join(', '));
      return value;
    }
    case 'integer':
    case 'number': {
      const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      const integer = spec.kind === 'integer';
      const range = describeRange(spec);
      if (!Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) {
        return fail(`${integer ? 'an integer' : 'a number'}${range}`);
      }
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        return fail(`${integer ? 'an integer' : 'a number'}${range}`);
      }
      return value;
    }
  }
}

function describeRange(spec: NumberSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return ` >= ${spec.min}`;
  if (spec.max !== undefined) return ` <= ${spec.max}`;
  return '';
}

/** The `--help` text: usage, then one entry per option with its variable, default and range. */
export function formatHelp(usage: string, summary: string, specs: OptionSpecs): string {
  const lines = [`Usage: ${usage}`, '', summary, '', 'Options (flag, or environment variable):'];
  for (const [key, spec] of Object.entries(specs)) {
    lines.push(`  ${flagUsage(key, spec)}   ${envName(key)}`);
    const details = optionDetails(spec);
    lines.push(`      ${spec.description}${details.length > 0 ? ` (${details.join('; ')})` : ''}`);
  }
  lines.push('  --help', '      Show this text.');
  return lines.join('\n');
}

/** A Markdown table of the options, one row each: flag, environment variable, default, meaning. */
export function formatOptionsTable(specs: OptionSpecs): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = ['| Flag | Environment | Default | Meaning |', '| --- | --- | --- | --- |'];
  for (const [key, spec] of Object.entries(specs)) {
    const byDefault = spec.default !== undefined && !spec.secret ? `\`${JSON.stringify(spec.default)}\`` : '';
    const limits = optionDetails(spec).filter((detail) => !detail.startsWith('default '));
    const meaning = `${spec.description}${limits.length > 0 ? ` (${limits.join('; ')})` : ''}`;
    rows.push(`| \`${flagUsage(key, spec)}\` | \`${envName(key)}\` | ${byDefault} | ${cell(meaning)} |`);
  }
  return rows.join('\n');
}

function flagUsage(key: string, spec: OptionSpec): string {
  const flag = flagName(key);
  return spec.kind === 'boolean'
    ? `--${flag}, --no-${flag}`
    : `--${flag} <${spec.kind === 'string' ? 'value' : spec.kind}>`;
}

/** Choices, range and default of an option, as short phrases. */
function optionDetails(spec: OptionSpec): string[] {
  const details: string[] = [];
  if ('choices' in spec && spec.choices) details.push(`one of ${spec.choices.join(', ')}`);
  if (spec.kind === 'integer' || spec.kind === 'number') {
    const range = describeRange(spec).trim();
    if (range) details.push(range);
  }
  if (spec.default !== undefined && !spec.secret) details.push(`default ${JSON.stringify(spec.default)}`);
  return details;
}

/** The entries of `options` that are not undefined, so that spreading them never erases a default. */
export function definedOnly<T extends object>(options: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
