import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, tableCrc32 } from '../../src/util/crc32.js';

test('the CRC-32 matches the standard check value on both code paths and continues across chunks', () => {
  const data = Buffer.from('123456789');
  assert.equal(crc32(data), 0xcbf43926);
  assert.equal(tableCrc32(data), 0xcbf43926);
  const bytes = Buffer.from(Array.from({ length: 1200 }, (_, i) => (i * 131 + 7) & 0xff));
  assert.equal(crc32(bytes.subarray(100), crc32(bytes.subarray(0, 100))), tableCrc32(bytes));
});
