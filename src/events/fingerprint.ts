import type { Type } from 'avsc';

// CRC-64-AVRO (Rabin fingerprint) as the Avro specification defines it: this empty value, and a table
// built by shifting right with the same value as polynomial.
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE = (() => {
  const table = new Array<bigint>(256);
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let bit = 0; bit < 8; bit++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK);
    table[i] = fp;
  }
  return table;
})();

/** The CRC-64-AVRO fingerprint of `bytes` as an unsigned 64-bit bigint. */
export function crc64Avro(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of bytes) fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] ?? 0n);
  return fp;
}

/** The Parsing Canonical Form of a schema; avsc's `schema()` without options produces exactly it. */
export function canonicalForm(type: Type): string {
  return JSON.stringify(type.schema());
}

/** The 8-byte little-endian CRC-64-AVRO fingerprint of the type's canonical form, as single-object encoding carries it. */
export function schemaFingerprint(type: Type): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(crc64Avro(Buffer.from(canonicalForm(type), 'utf8')));
  return buf;
}

/** Hex form of a fingerprint for logs and errors: 16 digits, in message (little-endian) byte order. */
export function fingerprintHex(fingerprint: Uint8Array): string {
  return Buffer.from(fingerprint).toString('hex');
}
