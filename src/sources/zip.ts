import { inflateRawSync } from 'node:zlib';
import { crc32 } from '../util/crc32.js';

/** One file inside a zip archive. */
export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

/**
 * Lists the files of an in-memory zip archive from its central directory. Only what dataset archives use
 * is supported: stored or deflated entries, no encryption, no zip64 (so archives below 4 GiB).
 */
export function listZipEntries(archive: Buffer): ZipEntry[] {
  const eocd = findEndOfCentralDirectory(archive);
  const count = archive.readUInt16LE(eocd + 10);
  let pos = archive.readUInt32LE(eocd + 16);

  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 46 > archive.length || archive.readUInt32LE(pos) !== CENTRAL_SIGNATURE) {
      throw new Error(`zip central directory entry ${i} at byte ${pos} is damaged`);
    }
    const nameLength = archive.readUInt16LE(pos + 28);
    const extraLength = archive.readUInt16LE(pos + 30);
    const commentLength = archive.readUInt16LE(pos + 32);
    entries.push({
      method: archive.readUInt16LE(pos + 10),
      crc32: archive.readUInt32LE(pos + 16),
      compressedSize: archive.readUInt32LE(pos + 20),
      size: archive.readUInt32LE(pos + 24),
      localHeaderOffset: archive.readUInt32LE(pos + 42),
      name: archive.toString('utf8', pos + 46, pos + 46 + nameLength),
    });
    pos += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The uncompressed bytes of one entry, checked against its recorded size and CRC-32. */
export function readZipEntry(archive: Buffer, entry: ZipEntry): Buffer {
  const at = entry.localHeaderOffset;
  if (at + 30 > archive.length || archive.readUInt32LE(at) !== LOCAL_SIGNATURE) {
    throw new Error(`zip entry ${entry.name}: local header at byte ${at} is damaged`);
  }
  // The local header's own name and extra lengths may differ from the central directory's copy.
  const start = at + 30 + archive.readUInt16LE(at + 26) + archive.readUInt16LE(at + 28);
  const stored = archive.subarray(start, start + entry.compressedSize);
  if (stored.length !== entry.compressedSize) throw new Error(`zip entry ${entry.name} is truncated`);

  let data: Buffer;
  if (entry.method === STORED) data = stored;
  else if (entry.method === DEFLATED) data = inflateRawSync(stored);
  else
    throw new Error(
      `zip entry ${entry.name} uses compression method ${entry.method}; only stored and deflate are read`,
    );

  if (data.length !== entry.size || crc32(data) !== entry.crc32) {
    throw new Error(`zip entry ${entry.name} fails its size or CRC-32 check`);
  }
  return data;
}

function findEndOfCentralDirectory(archive: Buffer): number {
  // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
  const lowest = Math.max(0, archive.length - 22 - 0xffff);
  for (let pos = archive.length - 22; pos >= lowest; pos--) {
    if (archive.readUInt32LE(pos) === EOCD_SIGNATURE) return pos;
  }
  throw new Error('not a zip archive: no end-of-central-directory record');
}
