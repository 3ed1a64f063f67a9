import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro, { type Type } from 'avsc';
import { BaheError, ErrorCode } from '../errors.js';
import { schemaFingerprint } from './fingerprint.js';
import { safeLongType } from './long.js';
import { EVENT_KINDS, EVENT_NAMESPACE, type EventKind } from './types.js';

/** One writer schema: `schemas/<kind>.v<version>.avsc`, parsed, with its fingerprint. */
export interface SchemaVersion {
  kind: EventKind;
  version: number;
  type: Type;
  /** 8 bytes, little-endian, as in single-object encoded messages. */
  fingerprint: Buffer;
  file: string;
}

const FILE_PATTERN = /^([A-Za-z]+)\.v([1-9][0-9]*)\.avsc$/;

/** The `schemas/` folder of this package, found by walking up from this module (works from `src/` and `dist/`). */
export function defaultSchemaDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'schemas');
    if (existsSync(path.join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new BaheError(
        ErrorCode.CONFIG_INVALID,
        'no schemas/ folder found above the events module; pass schemaDirs',
        {
          context: { field: 'schemaDirs' },
        },
      );
    }
    dir = parent;
  }
}

/** Parses a schema with the project's long type, so no long is ever silently rounded. */
export function parseSchema(schema: unknown): Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: safeLongType } });
}

/** Every writer schema version found in `dirs`, checked: names match files, no version defined twice differently. */
export function loadSchemaVersions(dirs: readonly string[]): SchemaVersion[] {
  const found = new Map<string, SchemaVersion>();
  for (const dir of dirs) {
    if (!existsSync(dir)) {
      throw new BaheError(ErrorCode.CONFIG_INVALID, `schema folder ${dir} does not exist`, {
        context: { field: 'schemaDirs', path: dir },
      });
    }
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.avsc')) continue;
      const schema = loadOne(path.join(dir, name));
      const key = `${schema.kind}.v${schema.version}`;
      const earlier = found.get(key);
      if (earlier && !earlier.fingerprint.equals(schema.fingerprint)) {
        throw new BaheError(
          ErrorCode.CONFIG_INVALID,
          `${key} is defined differently in ${earlier.file} and ${schema.file}`,
          {
            context: { field: 'schemaDirs', path: schema.file },
          },
        );
      }
      if (!earlier) found.set(key, schema);
    }
  }
  return [...found.values()];
}

function loadOne(file: string): SchemaVersion {
  const match = FILE_PATTERN.exec(path.basename(file));
  const kind = match?.[1];
  if (!match || !isEventKind(kind)) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `schema file ${file} is not named <Kind>.v<N>.avsc with Kind one of ${EVENT_KINDS.join(', ')}`,
      { context: { field: 'schemaDirs', path: file } },
    );
  }

  let type: Type;
  try {
    type = parseSchema(JSON.parse(readFileSync(file, 'utf8')));
  } catch (cause) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `schema file ${file} is not a valid Avro schema: ${String(cause)}`,
      {
        cause,
        context: { field: 'schemaDirs', path: file },
      },
    );
  }
  if (type.name !== `${EVENT_NAMESPACE}.${kind}`) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `schema file ${file} defines ${type.name}, expected ${EVENT_NAMESPACE}.${kind}`,
      {
        context: { field: 'schemaDirs', path: file },
      },
    );
  }
  return { kind, version: Number(match[2]), type, fingerprint: schemaFingerprint(type), file };
}

function isEventKind(value: unknown): value is EventKind {
  return (EVENT_KINDS as readonly unknown[]).includes(value);
}
