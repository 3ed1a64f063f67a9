/** Plain-function tests of the Qdrant point layout and request splitting; no server involved. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { chunkByJsonBytes, PAYLOAD_KEYS, pointOf, recordOf } from '../../src/store/qdrant-points.js';
import { norm } from '../../src/store/top-k.js';
import { makeRecords } from './records.js';

test('a point holds the unit vector and the norm; reading it back restores the vector', () => {
  const [record] = makeRecords(1, 384, { seed: 5 });
  if (record === undefined) throw new Error('no record');
  const point = pointOf(record);
  assert.ok(Math.abs(Math.hypot(...point.vector) - 1) < 1e-12);
  assert.equal(point.payload[PAYLOAD_KEYS.norm], norm(record.vector));

  // What Qdrant hands back: the unit vector rounded to float32.
  const stored = {
    id: point.id,
    payload: point.payload,
    vector: Array.from(Float32Array.from(point.vector)),
  };
  const back = recordOf(stored, 384, 'c');
  const { vector, ...fields } = back;
  const { vector: expected, ...expectedFields } = record;
  assert.deepEqual(fields, expectedFields);
  const length = norm(expected);
  vector.forEach((value, i) => {
    assert.ok(Math.abs(value - (expected[i] as number)) <= 1e-6 * length, `value ${i}`);
  });
});

test('a zero vector is stored as zeros and comes back as zeros', () => {
  const [record] = makeRecords(1, 4);
  if (record === undefined) throw new Error('no record');
  record.vector.fill(0);
  const point = pointOf(record);
  assert.deepEqual(point.vector, [0, 0, 0, 0]);
  assert.deepEqual(recordOf(point, 4, 'c').vector, new Float32Array(4));
});

test('a point without the behavior payload, or with another dimension, is refused as a mismatch', () => {
  assert.throws(
    () => recordOf({ id: 'x', payload: { text: 'a' }, vector: [1] }, 1, 'other'),
    (e) => isBaheError(e, 'BAHE_STORE_MISMATCH') && /not written by bahe-stream/.test(e.message),
  );
  const point = pointOf(makeRecords(1, 4)[0] as never);
  assert.throws(
    () => recordOf(point, 8, 'c'),
    (e) => isBaheError(e, 'BAHE_STORE_MISMATCH'),
  );
});

test('chunks stay under the byte and item limits and keep every item in order', () => {
  const points = makeRecords(500, 64).map(pointOf);
  const limits = { maxBytes: 64 * 1024, maxItems: 100, envelopeBytes: 1024 };
  const chunks = chunkByJsonBytes(points, limits);
  assert.deepEqual(chunks.flat(), points);
  for (const chunk of chunks) {
    const body = JSON.stringify({ points: chunk });
    assert.ok(Buffer.byteLength(body) <= limits.maxBytes, `chunk of ${Buffer.byteLength(body)} bytes`);
    assert.ok(chunk.length <= limits.maxItems);
  }
  assert.ok(chunks.length > 5, `${chunks.length} chunks`);
  assert.deepEqual(chunkByJsonBytes([], limits), []);
});

test('one item larger than the request limit is refused with what to change', () => {
  const huge = { text: 'x'.repeat(70 * 1024) };
  assert.throws(
    () => chunkByJsonBytes([huge], { maxBytes: 64 * 1024, maxItems: 10, envelopeBytes: 100 }),
    /qdrant-max-request-bytes/,
  );
});
