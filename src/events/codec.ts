import type { Resolver } from 'avsc';
import { BaheError, ErrorCode } from '../errors.js';
import { fingerprintHex } from './fingerprint.js';
import { defaultSchemaDir, loadSchemaVersions, type SchemaVersion } from './registry.js';
import { type DecodedEvent, EVENT_KINDS, type EventKind, type EventMap } from './types.js';
import { findViolation, KnownValid, type ValidationOptions } from './validate.js';

/** Avro single-object encoding: these two marker bytes, the 8-byte writer fingerprint, then the body. */
const MAGIC = Buffer.from([0xc3, 0x01]);
const HEADER_BYTES = MAGIC.length + 8;

export const EVENT_CODEC_DEFAULTS = Object.freeze({ maxBehaviorChars: 1000 });

export interface EventCodecOptions {
  /** Folders of `<Kind>.v<N>.avsc` writer schemas; the package's `schemas/` by default. */
  schemaDirs?: string[];
  /** Schema version each kind is decoded into; the highest known version by default. */
  readerVersions?: Partial<Record<EventKind, number>>;
  /** Schema version each kind is encoded with; the reader version by default. */
  writerVersions?: Partial<Record<EventKind, number>>;
  /** Limit on behavior and item texts after normalisation, in characters. */
  maxBehaviorChars?: number;
}

interface WriterEntry {
  writer: SchemaVersion;
  /** Undefined when the writer schema is the reader schema. */
  resolver: Resolver | undefined;
}

/**
 * Encodes and decodes events as Avro single-object messages. Every known writer schema is resolved to
 * its kind's reader schema once, when the codec is made; decoding then is a lookup by fingerprint.
 */
export class EventCodec {
  private readonly validation: ValidationOptions;
  private readonly readers = new Map<EventKind, SchemaVersion>();
  private readonly writers = new Map<EventKind, SchemaVersion>();
  private readonly byFingerprint = new Map<string, WriterEntry>();

  constructor(options: EventCodecOptions = {}) {
    this.validation = { maxBehaviorChars: checkMaxChars(options.maxBehaviorChars), known: new KnownValid() };
    const versions = loadSchemaVersions(options.schemaDirs ?? [defaultSchemaDir()]);

    for (const kind of EVENT_KINDS) {
      const ofKind = versions.filter((v) => v.kind === kind).sort((a, b) => a.version - b.version);
      const reader = pickVersion(ofKind, kind, options.readerVersions?.[kind], 'readerVersions');
      this.readers.set(kind, reader);
      this.writers.set(
        kind,
        pickVersion(ofKind, kind, options.writerVersions?.[kind] ?? reader.version, 'writerVersions'),
      );
      for (const writer of ofKind) this.addWriter(writer, reader);
    }
  }

  /** Validates `event` and encodes it with the kind's writer schema, fingerprint first. */
  encode<K extends EventKind>(kind: K, event: EventMap[K]): Buffer {
    const writer = this.schemaOf(this.writers, kind);
    let typeError: string | undefined;
    const typeOk = writer.type.isValid(event, {
      errorHook: (path: string[], value: unknown) => {
        typeError ??= `${path.join('.') || '(event)'} has the wrong type or is missing (got ${describe(value)})`;
      },
    });
    if (!typeOk)
      throw invalid(kind, `cannot encode ${kind}: ${typeError}`, fingerprintHex(writer.fingerprint));

    const violation = findViolation(kind, event, this.validation);
    if (violation) {
      throw invalid(
        kind,
        `cannot encode ${kind}: ${violation.reason}`,
        fingerprintHex(writer.fingerprint),
        violation.field,
      );
    }
    return Buffer.concat([MAGIC, writer.fingerprint, writer.type.toBuffer(event)]);
  }

  /** Decodes any known event; throws `BAHE_SCHEMA_UNKNOWN` for an unknown writer, `BAHE_EVENT_INVALID` otherwise. */
  decode(bytes: Uint8Array): DecodedEvent {
    const buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < HEADER_BYTES) {
      throw invalid(
        undefined,
        `message has ${buf.length} bytes, fewer than the ${HEADER_BYTES}-byte single-object header`,
      );
    }
    if (buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1]) {
      const seen = buf.subarray(0, 2).toString('hex');
      throw invalid(undefined, `message starts with 0x${seen}, not the Avro single-object marker 0xc301`);
    }

    const fingerprint = fingerprintHex(buf.subarray(2, HEADER_BYTES));
    const entry = this.byFingerprint.get(fingerprint);
    if (!entry) {
      throw new BaheError(
        ErrorCode.SCHEMA_UNKNOWN,
        `message was written with unknown schema fingerprint ${fingerprint}; add that writer schema to schemas/ ` +
          'and deploy, then replay the dead-lettered messages',
        { context: { fingerprint } },
      );
    }

    const { writer, resolver } = entry;
    const kind = writer.kind;
    const reader = this.schemaOf(this.readers, kind);
    let value: unknown;
    try {
      value = reader.type.fromBuffer(buf.subarray(HEADER_BYTES), resolver);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw invalid(
        kind,
        `${kind} body (writer v${writer.version}) cannot be decoded: ${reason}`,
        fingerprint,
        undefined,
        cause,
      );
    }

    const event = toPlain(value) as EventMap[typeof kind];
    const violation = findViolation(kind, event, this.validation);
    if (violation)
      throw invalid(kind, `${kind} is invalid: ${violation.reason}`, fingerprint, violation.field);
    return { kind, event, writerVersion: writer.version, fingerprint } as DecodedEvent;
  }

  /** Decodes a message that must be of `kind`; another kind is `BAHE_EVENT_INVALID`. */
  decodeAs<K extends EventKind>(kind: K, bytes: Uint8Array): EventMap[K] {
    const decoded = this.decode(bytes);
    if (decoded.kind !== kind) {
      throw invalid(kind, `message is a ${decoded.kind}, expected a ${kind}`, decoded.fingerprint);
    }
    return decoded.event as EventMap[K];
  }

  /** Fingerprint (16 hex digits, message byte order) of the schema a kind is encoded with. */
  writerFingerprint(kind: EventKind): string {
    return fingerprintHex(this.schemaOf(this.writers, kind).fingerprint);
  }

  /** Schema version a kind is decoded into. */
  readerVersion(kind: EventKind): number {
    return this.schemaOf(this.readers, kind).version;
  }

  private addWriter(writer: SchemaVersion, reader: SchemaVersion): void {
    const key = fingerprintHex(writer.fingerprint);
    if (this.byFingerprint.has(key)) return;
    let resolver: Resolver | undefined;
    if (!writer.fingerprint.equals(reader.fingerprint)) {
      try {
        resolver = reader.type.createResolver(writer.type);
      } catch (cause) {
        throw new BaheError(
          ErrorCode.CONFIG_INVALID,
          `${writer.kind} v${writer.version} (${writer.file}) cannot be read as v${reader.version}: ${String(cause)}; ` +
            'give new fields defaults instead of breaking old writers',
          { cause, context: { field: 'schemaDirs', path: writer.file } },
        );
      }
    }
    this.byFingerprint.set(key, { writer, resolver });
  }

  private schemaOf(map: Map<EventKind, SchemaVersion>, kind: EventKind): SchemaVersion {
    const schema = map.get(kind);
    if (!schema)
      throw new BaheError(ErrorCode.CONFIG_INVALID, `unknown event kind ${String(kind)}`, {
        context: { kind },
      });
    return schema;
  }
}

function pickVersion(
  versions: SchemaVersion[],
  kind: EventKind,
  wanted: number | undefined,
  field: string,
): SchemaVersion {
  const picked = wanted === undefined ? versions.at(-1) : versions.find((v) => v.version === wanted);
  if (!picked) {
    const known = versions.map((v) => v.version).join(', ') || 'none';
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `${field}.${kind}: no schema ${kind}.v${wanted ?? '*'}.avsc in the schema folders (known versions: ${known})`,
      { context: { field: `${field}.${kind}` } },
    );
  }
  return picked;
}

function checkMaxChars(value: number | undefined): number {
  const maxChars = value ?? EVENT_CODEC_DEFAULTS.maxBehaviorChars;
  if (!Number.isInteger(maxChars) || maxChars < 1 || maxChars > 1_000_000) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `maxBehaviorChars must be an integer in [1, 1000000], got ${maxChars}`,
      {
        context: { field: 'maxBehaviorChars' },
      },
    );
  }
  return maxChars;
}

function invalid(
  kind: EventKind | undefined,
  message: string,
  fingerprint?: string,
  field?: string,
  cause?: unknown,
): BaheError {
  return new BaheError(ErrorCode.EVENT_INVALID, message, { cause, context: { kind, fingerprint, field } });
}

// avsc returns records as instances of generated classes; callers get plain objects they can compare and spread.
function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    const items = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i += 1) items[i] = toPlain(value[i]);
    return items;
  }
  const record = value as Record<string, unknown>;
  const plain: Record<string, unknown> = {};
  for (const key of Object.keys(record)) plain[key] = toPlain(record[key]);
  return plain;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return value === null ? 'null' : typeof value;
}
