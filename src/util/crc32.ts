import zlib from 'node:zlib';

/** CRC-32 (IEEE) continuing from `previous`; zlib's native one where Node has it (20.15 and later). */
export function crc32(data: Uint8Array, previous = 0): number {
  return nativeCrc32 === undefined ? tableCrc32(data, previous) : nativeCrc32(data, previous);
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Byte-at-a-time CRC-32 for Node releases without `zlib.crc32`; exported so tests can compare both. */
export function tableCrc32(data: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i += 1) {
    crc = (TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
