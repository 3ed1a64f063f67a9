import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listZipEntries, readZipEntry } from '../../src/sources/zip.js';
import { buildZip } from './made-up-data.js';

const text = Buffer.from('line one\nline two\n'.repeat(50), 'latin1');
const bytes = Buffer.from([0, 1, 2, 0xe9, 0xff]);

test('stored and deflated entries are listed and read back', () => {
  const archive = buildZip([
    { name: 'set/a.txt', data: text, deflate: true },
    { name: 'set/b.bin', data: bytes, deflate: false },
  ]);
  const entries = listZipEntries(archive);
  assert.deepEqual(
    entries.map((e) => [e.name, e.method, e.size]),
    [
      ['set/a.txt', 8, text.length],
      ['set/b.bin', 0, bytes.length],
    ],
  );
  assert.ok((entries[0]?.compressedSize ?? 0) < text.length);
  assert.deepEqual(readZipEntry(archive, entries[0] as (typeof entries)[0]), text);
  assert.deepEqual(readZipEntry(archive, entries[1] as (typeof entries)[0]), bytes);
});

test('a damaged entry fails its CRC check instead of returning wrong bytes', () => {
  const archive = buildZip([{ name: 'b.bin', data: bytes, deflate: false }]);
  const [entry] = listZipEntries(archive);
  assert.ok(entry);
  const at = 30 + 'b.bin'.length + 3;
  archive[at] = (archive[at] ?? 0) ^ 0x01;
  assert.throws(() => readZipEntry(archive, entry), /fails its size or CRC-32 check/);
});

test('something that is not a zip archive is refused', () => {
  assert.throws(
    () => listZipEntries(Buffer.from('not a zip at all, just text')),
    /no end-of-central-directory/,
  );
  assert.throws(() => listZipEntries(Buffer.alloc(3)), /no end-of-central-directory/);
});
