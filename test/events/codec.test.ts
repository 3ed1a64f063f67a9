import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import avro from 'avsc';
import { isBaheError } from '../../src/errors.js';
import { EventCodec } from '../../src/events/codec.js';
import { schemaFingerprint } from '../../src/events/fingerprint.js';
import { defaultSchemaDir, parseSchema } from '../../src/events/registry.js';
import type {
  BehaviorEvent,
  DeadLetter,
  EventKind,
  EventMap,
  ImpressionEvent,
  ModelUpdateEvent,
} from '../../src/events/types.js';
import { repoRoot, tempDir } from '../helpers/data.js';

const fixtureSchemas = path.join(repoRoot, 'test', 'fixtures', 'schemas');
const schemaFile = (name: string) => path.join(defaultSchemaDir(), name);

const behavior: BehaviorEvent = {
  eventId: 'b-1',
  userId: 'u-7',
  type: 'liked',
  text: 'Am\u00e9lie (2001)',
  timestampMs: 1_700_000_000_123,
  source: 'test',
};
const impression: ImpressionEvent = {
  eventId: 'i-1',
  userId: 'u-7',
  itemId: 'm-42',
  itemText: 'A made-up film (1999)',
  history: [
    { type: 'liked', text: 'first film' },
    { type: 'disliked', text: 'second film' },
  ],
  label: 1,
  timestampMs: 1_700_000_000_456,
  source: 'test',
};
const modelUpdate: ModelUpdateEvent = {
  version: 'm-000012',
  step: 12_345,
  createdAtMs: 1_700_000_001_000,
  metrics: { auc: 0.7301, logloss: 0.5512 },
  location: '/var/lib/bahe/checkpoints/m-000012',
};
const deadLetter: DeadLetter = {
  reason: 'label must be 0 or 1, got 2',
  code: 'BAHE_EVENT_INVALID',
  sourceTopic: 'impressions',
  partition: 3,
  offset: '18446744073709551000',
  payload: Buffer.from([0xc3, 0x01, 0xff, 0x00]),
  failedAtMs: 1_700_000_002_000,
};

/** A message with a valid header around a body written by `type`, bypassing the codec's checks. */
function rawMessage(type: avro.Type, value: unknown): Buffer {
  return Buffer.concat([Buffer.from([0xc3, 0x01]), schemaFingerprint(type), type.toBuffer(value)]);
}

function invalidWith(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(isBaheError(err, 'BAHE_EVENT_INVALID'), String(err));
    assert.match(err.message, pattern);
    return true;
  };
}

test('writer fingerprints are the CRC-64-AVRO values other Avro libraries compute', () => {
  // python -c "import json; from fastavro.schema import to_parsing_canonical_form as c, fingerprint as f;
  //   print(f(c(json.load(open('schemas/ImpressionEvent.v1.avsc'))), 'CRC-64-AVRO'))"  (fastavro 1.x), same for the others
  const codec = new EventCodec();
  assert.equal(codec.writerFingerprint('BehaviorEvent'), 'cf4b17bced6ba6fa');
  assert.equal(codec.writerFingerprint('ImpressionEvent'), 'da80323dd7c97029');
  assert.equal(codec.writerFingerprint('ModelUpdateEvent'), '53198f9be7d3757d');
  assert.equal(codec.writerFingerprint('DeadLetter'), '65894dfbb5c7eeb0');
  assert.equal(schemaFingerprint(avro.Type.forSchema('null')).toString('hex'), '8a8f25cce724dd63');
});

test('every event kind round trips, with the single-object header in front', () => {
  const codec = new EventCodec();
  const roundTrip = <K extends EventKind>(kind: K, event: EventMap[K]) => {
    const bytes = codec.encode(kind, event);
    assert.deepEqual([...bytes.subarray(0, 2)], [0xc3, 0x01]);
    assert.equal(bytes.subarray(2, 10).toString('hex'), codec.writerFingerprint(kind));
    const decoded = codec.decode(bytes);
    assert.equal(decoded.kind, kind);
    assert.equal(decoded.writerVersion, 1);
    assert.deepEqual(decoded.event, event);
    assert.deepEqual(codec.decodeAs(kind, new Uint8Array(bytes)), event);
  };
  roundTrip('BehaviorEvent', behavior);
  roundTrip('ImpressionEvent', impression);
  roundTrip('ImpressionEvent', { ...impression, history: [], label: 0 });
  roundTrip('ModelUpdateEvent', modelUpdate);
  roundTrip('ModelUpdateEvent', { ...modelUpdate, metrics: {} });
  roundTrip('DeadLetter', deadLetter);
});

test('decodeAs refuses a message of another kind', () => {
  const codec = new EventCodec();
  const bytes = codec.encode('BehaviorEvent', behavior);
  assert.throws(
    () => codec.decodeAs('ImpressionEvent', bytes),
    invalidWith(/is a BehaviorEvent, expected a ImpressionEvent/),
  );
});

test('a v2 writer with new fields is read by a v1 reader that knows the v2 schema', () => {
  const v2Writer = new EventCodec({
    schemaDirs: [defaultSchemaDir(), fixtureSchemas],
    writerVersions: { ImpressionEvent: 2 },
  });
  assert.equal(v2Writer.readerVersion('ImpressionEvent'), 2);
  const bytes = v2Writer.encode('ImpressionEvent', {
    ...impression,
    surface: 'home',
    requestId: 'r-9',
  } as ImpressionEvent);

  // A deployment that has never seen v2 cannot read it, and says so instead of guessing.
  assert.throws(
    () => new EventCodec().decode(bytes),
    (err: unknown) => isBaheError(err, 'BAHE_SCHEMA_UNKNOWN'),
  );

  const v1Reader = new EventCodec({
    schemaDirs: [defaultSchemaDir(), fixtureSchemas],
    readerVersions: { ImpressionEvent: 1 },
  });
  const decoded = v1Reader.decode(bytes);
  assert.equal(decoded.writerVersion, 2);
  assert.deepEqual(decoded.event, impression);
});

test('a v1 writer is read by a v2 reader, which fills the defaults', () => {
  const bytes = new EventCodec().encode('ImpressionEvent', impression);
  const v2Reader = new EventCodec({ schemaDirs: [defaultSchemaDir(), fixtureSchemas] });
  const decoded = v2Reader.decode(bytes);
  assert.equal(decoded.writerVersion, 1);
  assert.deepEqual(decoded.event, { ...impression, surface: 'unknown', requestId: null });
});

test('an optional field the reader dropped is skipped, not misread', () => {
  // v2 has `requestId`; v1 has not. Reading v2 bytes as v1 must skip the union, keeping later fields intact.
  const v2Writer = new EventCodec({
    schemaDirs: [defaultSchemaDir(), fixtureSchemas],
    writerVersions: { ImpressionEvent: 2 },
  });
  const v1Reader = new EventCodec({
    schemaDirs: [defaultSchemaDir(), fixtureSchemas],
    readerVersions: { ImpressionEvent: 1 },
  });
  const event = { ...impression, requestId: 'x'.repeat(300), surface: 's'.repeat(200) } as ImpressionEvent;
  assert.deepEqual(
    v1Reader.decodeAs('ImpressionEvent', v2Writer.encode('ImpressionEvent', event)),
    impression,
  );
});

test('a schema version that breaks old writers fails when the codec is made', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await copyFile(schemaFile('BehaviorEvent.v1.avsc'), path.join(dir, 'BehaviorEvent.v1.avsc'));
    // A new required field without a default: v1 messages cannot be read as v2.
    const v2 = {
      type: 'record',
      name: 'BehaviorEvent',
      namespace: 'io.bahe',
      fields: [
        { name: 'eventId', type: 'string' },
        { name: 'sessionId', type: 'string' },
      ],
    };
    await writeFile(path.join(dir, 'BehaviorEvent.v2.avsc'), JSON.stringify(v2));
    for (const other of ['ImpressionEvent', 'ModelUpdateEvent', 'DeadLetter']) {
      await copyFile(schemaFile(`${other}.v1.avsc`), path.join(dir, `${other}.v1.avsc`));
    }
    assert.throws(
      () => new EventCodec({ schemaDirs: [dir] }),
      (err: unknown) =>
        isBaheError(err, 'BAHE_CONFIG_INVALID') &&
        /BehaviorEvent v1 .* cannot be read as v2/.test(err.message),
    );
  } finally {
    await cleanup();
  }
});

test('corrupt messages are refused with the reason', () => {
  const codec = new EventCodec();
  const good = codec.encode('ImpressionEvent', impression);

  assert.throws(() => codec.decode(Buffer.alloc(0)), invalidWith(/fewer than the 10-byte/));
  assert.throws(() => codec.decode(good.subarray(0, 7)), invalidWith(/fewer than the 10-byte/));
  assert.throws(
    () => codec.decode(Buffer.concat([Buffer.from([0x4f, 0x62]), good.subarray(2)])),
    invalidWith(/0x4f62/),
  );
  assert.throws(
    () => codec.decode(good.subarray(0, good.length - 3)),
    invalidWith(/cannot be decoded: truncated/),
  );
  assert.throws(() => codec.decode(Buffer.concat([good, Buffer.from([0])])), invalidWith(/trailing data/));

  const garbage = Buffer.concat([good.subarray(0, 10), Buffer.from('ffffffffffffffffffff7f01', 'hex')]);
  assert.throws(
    () => codec.decode(garbage),
    invalidWith(/ImpressionEvent body \(writer v1\) cannot be decoded/),
  );

  const unknown = Buffer.from(good);
  unknown[5] = (unknown[5] ?? 0) ^ 0xff;
  assert.throws(
    () => codec.decode(unknown),
    (err: unknown) => isBaheError(err, 'BAHE_SCHEMA_UNKNOWN') && /add that writer schema/.test(err.message),
  );
});

test('well-typed events with out-of-range fields are refused on decode and on encode', () => {
  const codec = new EventCodec();
  const impressionType = rawType('ImpressionEvent');
  const behaviorType = rawType('BehaviorEvent');
  const cases: [avro.Type, unknown, RegExp][] = [
    [impressionType, { ...impression, label: 2 }, /label must be 0 or 1, got 2/],
    [impressionType, { ...impression, timestampMs: -1 }, /timestampMs must not be negative/],
    [
      impressionType,
      { ...impression, history: [{ type: 'liked', text: ' \u200b ' }] },
      /empty after normalisation/,
    ],
    [impressionType, { ...impression, history: [{ type: 'Liked!', text: 'x' }] }, /behavior type "Liked!"/],
    [behaviorType, { ...behavior, text: 'y'.repeat(1001) }, /1001 characters/],
    [behaviorType, { ...behavior, userId: '' }, /userId is empty/],
  ];
  for (const [type, value, pattern] of cases) {
    assert.throws(() => codec.decode(rawMessage(type, value)), invalidWith(pattern));
  }
  assert.throws(
    () => codec.encode('ImpressionEvent', { ...impression, label: 3 as 0 }),
    invalidWith(/label must be 0 or 1/),
  );
  assert.throws(
    () => codec.encode('ModelUpdateEvent', { ...modelUpdate, metrics: { auc: Number.NaN } }),
    invalidWith(/metric auc is NaN/),
  );
  assert.throws(
    () => codec.encode('BehaviorEvent', { ...behavior, text: 42 } as unknown as BehaviorEvent),
    invalidWith(/text has the wrong type or is missing \(got 42\)/),
  );
});

test('a codec that has seen a text valid still refuses invalid ones: the memo of valid texts and types only ever skips re-checking those', () => {
  const codec = new EventCodec({ maxBehaviorChars: 20 });
  const behaviorType = rawType('BehaviorEvent');
  const valid = { ...behavior, type: 'liked', text: 'Toy Story (1995)' };
  for (let i = 0; i < 3; i += 1)
    assert.equal(codec.decodeAs('BehaviorEvent', rawMessage(behaviorType, valid)).text, valid.text);
  const cases: [unknown, RegExp][] = [
    [{ ...valid, type: 'Liked!' }, /behavior type "Liked!"/],
    [{ ...valid, text: `${valid.text} and more` }, /25 characters/],
    [{ ...valid, text: ' \u200b ' }, /empty after normalisation/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => codec.decode(rawMessage(behaviorType, value)), invalidWith(pattern));
  }
  // Another codec with a tighter limit shares nothing with this one.
  const tight = new EventCodec({ maxBehaviorChars: 10 });
  assert.throws(() => tight.decode(rawMessage(behaviorType, valid)), invalidWith(/16 characters/));
});

test('longs keep full precision up to 2^53 - 1 and are refused beyond', () => {
  const codec = new EventCodec();
  const max = { ...behavior, timestampMs: Number.MAX_SAFE_INTEGER };
  assert.equal(codec.decodeAs('BehaviorEvent', codec.encode('BehaviorEvent', max)).timestampMs, 2 ** 53 - 1);
  assert.throws(
    () => codec.encode('BehaviorEvent', { ...behavior, timestampMs: 2 ** 53 }),
    invalidWith(/timestampMs/),
  );

  // A foreign writer with 64-bit longs: 2^60 + 1 must not be rounded to a nearby double.
  const bigLong = avro.types.LongType.__with({
    fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
    toBuffer: (n: bigint) => {
      const buf = Buffer.alloc(8);
      buf.writeBigInt64LE(n);
      return buf;
    },
    fromJSON: BigInt,
    toJSON: Number,
    isValid: (n: unknown) => typeof n === 'bigint',
    compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
  });
  const foreign = avro.Type.forSchema(JSON.parse(JSON.stringify(rawType('BehaviorEvent').schema())), {
    registry: { long: bigLong },
  });
  for (const ts of [2n ** 60n + 1n, 2n ** 53n, -(2n ** 53n)]) {
    const bytes = rawMessage(foreign, { ...behavior, timestampMs: ts });
    assert.throws(() => codec.decode(bytes), invalidWith(new RegExp(`long ${ts} is beyond 2\\^53 - 1`)));
  }
});

function rawType(kind: string): avro.Type {
  return parseSchema(JSON.parse(readFileSync(schemaFile(`${kind}.v1.avsc`), 'utf8')));
}
