/**
 * The embedded store's append-only log: a sequence of self-checking records.
 *
 * A record is a 20-byte header, a UTF-8 JSON payload and raw float32 values (little-endian, the byte
 * order of every platform Node ships for; a big-endian host would misread them):
 *
 *   0  magic        u32 LE  "BHR1"
 *   4  kind         u8      1 put, 2 touch, 3 delete
 *   5  reserved     3 bytes zero
 *   8  json bytes   u32 LE
 *  12  vector bytes u32 LE  (dimension * 4 for a put, else 0)
 *  16  crc32        u32 LE  over bytes 0..16, the JSON and the vector
 */

import { crc32 } from '../util/crc32.js';
import type { BehaviorRecord } from './types.js';

export const RECORD_MAGIC = 0x31524842;
export const HEADER_BYTES = 20;

export const RecordKind = { put: 1, touch: 2, delete: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

/** A put carries the whole behavior; touches and deletes carry the resulting state only. */
export type LogEntry =
  | { kind: typeof RecordKind.put; record: BehaviorRecord }
  | { kind: typeof RecordKind.touch; id: string; firstSeenMs: number; lastSeenMs: number; count: number }
  | { kind: typeof RecordKind.delete; ids: string[] };

export function encodeEntry(entry: LogEntry): Buffer {
  let json: Record<string, unknown>;
  let vector: Float32Array | undefined;
  if (entry.kind === RecordKind.put) {
    const { vector: values, ...fields } = entry.record;
    json = {
      id: fields.id,
      type: fields.type,
      text: fields.text,
      firstSeenMs: fields.firstSeenMs,
      lastSeenMs: fields.lastSeenMs,
      count: fields.count,
    };
    vector = values;
  } else if (entry.kind === RecordKind.touch) {
    const { id, firstSeenMs, lastSeenMs, count } = entry;
    json = { id, firstSeenMs, lastSeenMs, count };
  } else {
    json = { ids: entry.ids };
  }

  const payload = Buffer.from(JSON.stringify(json), 'utf8');
  const vectorBytes = vector === undefined ? 0 : vector.byteLength;
  const out = Buffer.alloc(HEADER_BYTES + payload.length + vectorBytes);
  out.writeUInt32LE(RECORD_MAGIC, 0);
  out.writeUInt8(entry.kind, 4);
  out.writeUInt32LE(payload.length, 8);
  out.writeUInt32LE(vectorBytes, 12);
  payload.copy(out, HEADER_BYTES);
  if (vector !== undefined) {
    out.set(new Uint8Array(vector.buffer, vector.byteOffset, vectorBytes), HEADER_BYTES + payload.length);
  }

  let crc = crc32(out.subarray(0, 16));
  crc = crc32(out.subarray(HEADER_BYTES), crc);
  out.writeUInt32LE(crc, 16);
  return out;
}

/** What the header at the start of `bytes` promises, or why it cannot be a record header. */
export type HeaderCheck = { ok: true; totalBytes: number } | { ok: false; reason: string };

export function checkHeader(bytes: Uint8Array): HeaderCheck {
  if (bytes.length < HEADER_BYTES) return { ok: false, reason: 'record header cut short' };
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (view.readUInt32LE(0) !== RECORD_MAGIC) return { ok: false, reason: 'bad record magic' };
  const kind = view.readUInt8(4);
  if (kind < RecordKind.put || kind > RecordKind.delete) return { ok: false, reason: `unknown kind ${kind}` };
  if (view.readUInt8(5) !== 0 || view.readUInt16LE(6) !== 0) {
    return { ok: false, reason: 'reserved bytes set' };
  }
  const vectorBytes = view.readUInt32LE(12);
  if (vectorBytes % 4 !== 0) return { ok: false, reason: 'vector length not a multiple of 4' };
  return { ok: true, totalBytes: HEADER_BYTES + view.readUInt32LE(8) + vectorBytes };
}

/**
 * Decodes one complete record (`bytes` holds exactly the length `checkHeader` gave). Returns a
 * reason string when the checksum or payload is wrong.
 */
export function decodeEntry(bytes: Uint8Array, dimension: number): LogEntry | string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonBytes = buf.readUInt32LE(8);
  const vectorBytes = buf.readUInt32LE(12);
  const expected = buf.readUInt32LE(16);
  const actual = crc32(buf.subarray(HEADER_BYTES), crc32(buf.subarray(0, 16)));
  if (actual !== expected) return 'checksum mismatch';

  let json: Record<string, unknown>;
  try {
    json = JSON.parse(buf.toString('utf8', HEADER_BYTES, HEADER_BYTES + jsonBytes));
  } catch {
    return 'payload is not JSON';
  }
  if (typeof json !== 'object' || json === null) return 'payload is not a JSON object';

  const kind = buf.readUInt8(4);
  if (kind === RecordKind.put) {
    if (vectorBytes !== dimension * 4) {
      return `vector of ${vectorBytes / 4} values, store dimension ${dimension}`;
    }
    const vector = new Float32Array(dimension);
    const start = HEADER_BYTES + jsonBytes;
    new Uint8Array(vector.buffer).set(buf.subarray(start, start + vectorBytes));
    const { id, type, text, firstSeenMs, lastSeenMs, count } = json;
    if (typeof id !== 'string' || typeof type !== 'string' || typeof text !== 'string') {
      return 'put payload lacks id, type or text';
    }
    if (typeof firstSeenMs !== 'number' || typeof lastSeenMs !== 'number' || typeof count !== 'number') {
      return 'put payload lacks firstSeenMs, lastSeenMs or count';
    }
    const record: BehaviorRecord = { id, type, text, vector, firstSeenMs, lastSeenMs, count };
    return { kind, record };
  }
  if (kind === RecordKind.touch) {
    const { id, firstSeenMs, lastSeenMs, count } = json;
    if (typeof id !== 'string' || typeof firstSeenMs !== 'number') {
      return 'touch payload lacks id or firstSeenMs';
    }
    if (typeof lastSeenMs !== 'number' || typeof count !== 'number') {
      return 'touch payload lacks lastSeenMs or count';
    }
    return { kind, id, firstSeenMs, lastSeenMs, count };
  }
  const { ids } = json;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) return 'delete payload lacks ids';
  return { kind: RecordKind.delete, ids };
}
