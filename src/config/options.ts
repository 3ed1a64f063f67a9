/**
 * Declarative command options: each option is described once and can be given as a flag
 * (`--max-impressions 5000`) or an environment variable (`BAHE_MAX_IMPRESSIONS=5000`); flags win.
 * Values are checked once, here, and a bad one fails naming the flag, the variable and what is accepted.
 */
import { parseArgs } from 'node:util';
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

/** Parses flags and environment against `specs`; throws BAHE_CONFIG_INVALID on the first bad value. */
export function parseOptions<S extends OptionSpecs>(
  specs: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParseResult<S> {
  const flagConfig: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [key, spec] of Object.entries(specs)) {
    flagConfig[flagName(key)] = { type: spec.kind === 'boolean' ? 'boolean' : 'string' };
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: flagConfig, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `${(cause as Error).message}; run with --help to list the options`,
      {
        cause,
      },
    );
  }

  const options: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const fromFlag = parsed.values[flagName(key)] as string | boolean | undefined;
    const fromEnv = env[envName(key)];
    const raw = fromFlag ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
    const source = fromFlag !== undefined ? `--${flagName(key)}` : envName(key);
    options[key] = raw === undefined ? spec.default : coerce(key, spec, raw, source);
  }
  return {
    options: options as ParsedOptions<S>,
    positionals: parsed.positionals,
    help: parsed.values.help === true,
  };
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
      if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
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
    const value = spec.kind === 'boolean' ? '' : ` <${spec.kind === 'string' ? 'value' : spec.kind}>`;
    lines.push(`  --${flagName(key)}${value}   ${envName(key)}`);
    const details: string[] = [];
    if ('choices' in spec && spec.choices) details.push(`one of ${spec.choices.join(', ')}`);
    if (spec.kind === 'integer' || spec.kind === 'number') {
      const range = describeRange(spec).trim();
      if (range) details.push(range);
    }
    if (spec.default !== undefined && !spec.secret) details.push(`default ${JSON.stringify(spec.default)}`);
    lines.push(`      ${spec.description}${details.length > 0 ? ` (${details.join('; ')})` : ''}`);
  }
  lines.push('  --help', '      Show this text.');
  return lines.join('\n');
}

/** The entries of `options` that are not undefined, so that spreading them never erases a default. */
export function definedOnly<T extends object>(options: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
