import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BehaviorIdentityCache } from '../../../src/behavior/identity-cache.js';
import { OnnxEncoder } from '../../../src/encoder/onnx-encoder.js';
import { EventCodec } from '../../../src/events/codec.js';
import { defaultSchemaDir, loadSchemaVersions } from '../../../src/events/registry.js';
import { OrderedProducer } from '../../../src/kafka/producer.js';
import { silentLogger } from '../../../src/log.js';
import { behaviorRefOf, resolveImpression } from '../../../src/pipeline/impressions.js';
import { consumerLag } from '../../../src/services/encoder/lag.js';
import { EncoderService } from '../../../src/services/encoder/service.js';
import type { EncoderServiceOptions } from '../../../src/services/encoder/service-options.js';
import { EmbeddedStore } from '../../../src/store/embedded.js';
import { datasetDir, tempDir } from '../../helpers/data.js';
import { consumeRecords, type KafkaFixture, kafkaFixture, kafkaSkip } from '../../helpers/kafka.js';
import { defaultModel } from '../../helpers/model.js';
import {
  endOffsets,
  movieLensBehaviorIds,
  produceMovieLens,
  waitFor as waitUntil,
} from '../../helpers/services.js';

const movielens = datasetDir('movielens-100k');
const noKafka = await kafkaSkip();
const TOPICS = [
  'behaviors',
  'impressions',
  'refs',
  'refs-again',
  'behaviors.dlq',
  'impressions.dlq',
  'refs.dlq',
];
const WAIT_MS = 60_000;

let encoder: OnnxEncoder | undefined;
let encoderQueue: Promise<unknown> = Promise.resolve();

before(async () => {
  if (noKafka) return;
  encoder = await OnnxEncoder.fromModel(await defaultModel(), { intraOpThreads: 2 });
});
after(async () => {
  await encoder?.close();
});

/** The test's encoder: one shared graph, calls queued one behind the other, every text counted. */
function countingEncoder(): { encode: (texts: string[]) => Promise<Float32Array[]>; texts: () => number } {
  let texts = 0;
  return {
    encode: (batch) => {
      texts += batch.length;
      const run = encoderQueue.then(() => (encoder as OnnxEncoder).encode(batch));
      encoderQueue = run.catch(() => undefined);
      return run;
    },
    texts: () => texts,
  };
}

interface Setup {
  fixture: KafkaFixture;
  store: EmbeddedStore;
  cleanup: () => Promise<void>;
}

async function setUp(): Promise<Setup> {
  const model = await defaultModel();
  const fixture = await kafkaFixture(TOPICS);
  const dir = await tempDir('bahe-encoder-service-');
  const store = new EmbeddedStore({
    dir: path.join(dir.dir, 'store'),
    encoderVersion: model.manifest.encoderVersion,
    dimension: model.manifest.hiddenSize,
  });
  await store.open();
  return {
    fixture,
    store,
    cleanup: async () => {
      await store.close();
      await fixture.cleanup();
      await dir.cleanup();
    },
  };
}

function startService(setup: Setup, name: string, overrides: Partial<EncoderServiceOptions> = {}) {
  const counting = countingEncoder();
  const { fixture } = setup;
  const service = new EncoderService(
    {
      kafka: fixture.kafka,
      store: setup.store,
      encode: (texts) => counting.encode(texts),
      logger: silentLogger().child({ name }),
    },
    {
      behaviorTopic: fixture.topic('behaviors'),
      impressionTopic: fixture.topic('impressions'),
      refsTopic: fixture.topic('refs'),
      groupId: fixture.groupId,
      encoderBatchSize: 64,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 500,
      ...overrides,
    },
  );
  return { service, counting, started: service.start() };
}

/** Polls `check` until it holds, for at most a minute. */
function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  return waitUntil(what, check, WAIT_MS);
}

async function endOffsetSum(fixture: KafkaFixture, name: string): Promise<number> {
  return [...(await endOffsets(fixture, name)).values()].reduce((sum, end) => sum + end, 0);
}

/** Waits until the group has committed every message of the sources and then of the internal topic. */
async function waitIdle(fixture: KafkaFixture): Promise<void> {
  const topics = ['behaviors', 'impressions', 'refs'].map((name) => fixture.topic(name));
  await waitFor('the encoder group has no lag', async () => {
    const lag = await consumerLag(fixture.kafka, fixture.groupId, topics);
    return [...lag.values()].every((behind) => behind === 0);
  });
}

test('two instances in one group encode every unique behavior of 600 MovieLens events exactly once between them', {
  skip: movielens.skip || noKafka,
  timeout: 120_000,
}, async (t) => {
  const EVENTS = 600;
  const setup = await setUp();
  try {
    const refs = setup.fixture.topic('refs');
    const a = startService(setup, 'a');
    const b = startService(setup, 'b');
    await Promise.all([a.started, b.started]);
    // Both members must share the internal topic before any event arrives, so both get work.
    await waitFor('both instances own part of the internal topic', () => {
      const ownedA = a.service.assignment[refs] ?? [];
      const ownedB = b.service.assignment[refs] ?? [];
      return (
        ownedA.length > 0 &&
        ownedB.length > 0 &&
        new Set([...ownedA, ...ownedB]).size === 3 &&
        ownedA.length + ownedB.length === 3
      );
    });

    await produceMovieLens(setup.fixture, movielens.dir, EVENTS);
    const expected = await movieLensBehaviorIds(movielens.dir, EVENTS);
    await waitFor('the store holds every behavior', async () => (await setup.store.count()) >= expected.size);
    await waitIdle(setup.fixture);
    await Promise.all([a.service.stop(), b.service.stop()]);

    assert.equal(await setup.store.count(), expected.size);
    assert.deepEqual(await setup.store.missing([...expected]), []);
    const [statsA, statsB] = [a.service.stats, b.service.stats];
    assert.equal(statsA.eventsRouted + statsB.eventsRouted, EVENTS);
    assert.equal(statsA.encoded + statsB.encoded, expected.size, 'encoder calls == unique behaviors');
    assert.equal(a.counting.texts() + b.counting.texts(), expected.size);
    assert.ok(
      statsA.encoded > 0 && statsB.encoded > 0,
      `both encoded: ${statsA.encoded} + ${statsB.encoded}`,
    );
    assert.equal(statsA.deadLettered + statsB.deadLettered, 0);
    t.diagnostic(`${expected.size} unique behaviors encoded as ${statsA.encoded} + ${statsB.encoded}`);
  } finally {
    await setup.cleanup();
  }
});

test('20 unreadable or invalid messages among good ones all reach the dead-letter topics with reasons; the good ones are encoded', {
  skip: noKafka,
  timeout: 120_000,
}, async () => {
  const setup = await setUp();
  const { fixture } = setup;
  const codec = new EventCodec();
  const producer = new OrderedProducer(fixture.kafka, silentLogger());
  const dlqGroup = `${fixture.groupId}-dlq`;
  try {
    await producer.connect();
    const identities = new BehaviorIdentityCache();
    const expected = new Set<string>();
    const good = Array.from({ length: 30 }, (_, i) => {
      const event = {
        eventId: `e${i}`,
        userId: `u${i % 5}`,
        type: 'clicked',
        text: `synthetic behavior ${i}`,
        timestampMs: i,
        source: 'test',
      };
      expected.add(behaviorRefOf(event, identities).id);
      return { key: event.userId, value: codec.encode('BehaviorEvent', event) };
    });
    const impression = {
      eventId: 'i1',
      userId: 'u1',
      itemId: 'item-1',
      itemText: 'synthetic candidate',
      history: [{ type: 'clicked', text: 'synthetic history entry' }],
      label: 1 as const,
      timestampMs: 5,
      source: 'test',
    };
    for (const ref of resolveImpression(impression, identities).refs) expected.add(ref.id);

    // Well-typed Avro with a blank behavior text: the codec refuses to write it, so it is built by hand.
    const behaviorV1 = loadSchemaVersions([defaultSchemaDir()]).find(
      (v) => v.kind === 'BehaviorEvent' && v.version === 1,
    );
    assert.ok(behaviorV1);
    const blankText = Buffer.concat([
      Buffer.from([0xc3, 0x01]),
      behaviorV1.fingerprint,
      behaviorV1.type.toBuffer({
        eventId: 'bad',
        userId: 'u9',
        type: 'clicked',
        text: ' \t ',
        timestampMs: 1,
        source: 'test',
      }),
    ]);
    const goodBytes = good[0]?.value as Buffer;
    const corruptEvents: Buffer[] = [
      Buffer.from('not an avro message'),
      Buffer.alloc(3),
      goodBytes.subarray(0, goodBytes.length - 4),
      Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.from('unknown!'), goodBytes.subarray(10)]),
      blankText,
      codec.encode('ModelUpdateEvent', {
        version: 'v1',
        step: 1,
        createdAtMs: 1,
        metrics: {},
        location: 'x',
      }),
    ];
    const corruptBehaviors = Array.from(
      { length: 12 },
      (_, i) => corruptEvents[i % corruptEvents.length] as Buffer,
    );
    const corruptImpressions = [Buffer.from('garbage impression'), blankText, Buffer.alloc(0), goodBytes];
    const corruptRefs = [
      Buffer.from('{"v":1}'),
      Buffer.from('not json'),
      Buffer.from(
        JSON.stringify({
          v: 1,
          id: '00000000-0000-5000-8000-000000000000',
          type: 'clicked',
          text: 'x',
          seenMs: 1,
          lastSeenMs: 1,
          count: 1,
          sightings: 0,
        }),
      ),
      Buffer.from('[]'),
    ];
    const corrupt = corruptBehaviors.length + corruptImpressions.length + corruptRefs.length;
    assert.equal(corrupt, 20);

    const mixed = [...good];
    for (const [i, value] of corruptBehaviors.entries()) {
      mixed.splice(2 * i + 1, 0, { key: `u${i % 5}`, value });
    }
    await producer.send(fixture.topic('behaviors'), mixed);
    await producer.send(fixture.topic('impressions'), [
      ...corruptImpressions.slice(0, 2).map((value) => ({ key: 'u1', value })),
      { key: 'u1', value: codec.encode('ImpressionEvent', impression) },
      ...corruptImpressions.slice(2).map((value) => ({ key: 'u1', value })),
    ]);
    await producer.send(
      fixture.topic('refs'),
      corruptRefs.map((value, i) => ({ key: `k${i}`, value })),
    );

    const { service, started } = startService(setup, 'dlq');
    await started;
    await waitFor(
      'the store holds every good behavior',
      async () => (await setup.store.count()) >= expected.size,
    );
    await waitIdle(fixture);
    await service.stop();

    assert.deepEqual(await setup.store.missing([...expected]), []);
    assert.equal(await setup.store.count(), expected.size);
    assert.equal(service.stats.deadLettered, corrupt);
    assert.equal(service.stats.eventsRouted, good.length + 1);
    const dlqTopics = ['behaviors.dlq', 'impressions.dlq', 'refs.dlq'];
    const dlqSizes = await Promise.all(dlqTopics.map((name) => endOffsetSum(fixture, name)));
    assert.deepEqual(dlqSizes, [corruptBehaviors.length, corruptImpressions.length, corruptRefs.length]);

    const dead = await consumeRecords(
      fixture.kafka,
      dlqTopics.map((name) => fixture.topic(name)),
      dlqGroup,
      corrupt,
    );
    const sent = new Map<string, Buffer[]>([
      [fixture.topic('behaviors'), corruptBehaviors],
      [fixture.topic('impressions'), corruptImpressions],
      [fixture.topic('refs'), corruptRefs],
    ]);
    for (const record of dead) {
      const letter = codec.decodeAs('DeadLetter', record.value as Buffer);
      assert.match(letter.code, /^BAHE_(EVENT_INVALID|SCHEMA_UNKNOWN)$/);
      assert.ok(letter.reason.length > 20, letter.reason);
      assert.equal(record.topic, `${letter.sourceTopic}.dlq`);
      assert.ok(letter.partition >= 0 && /^[0-9]+$/.test(letter.offset));
      assert.ok(
        (sent.get(letter.sourceTopic) ?? []).some((bytes) => bytes.equals(letter.payload)),
        `payload of ${letter.sourceTopic}@${letter.offset} is one of the corrupt messages sent`,
      );
    }
    const codes = new Set(dead.map((r) => codec.decodeAs('DeadLetter', r.value as Buffer).code));
    assert.ok(codes.has('BAHE_SCHEMA_UNKNOWN') && codes.has('BAHE_EVENT_INVALID'));
  } finally {
    await producer.disconnect();
    const admin = fixture.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([dlqGroup]).catch(() => undefined);
    await admin.disconnect();
    await setup.cleanup();
  }
});

test('stop() drains and commits: a second instance reads on from there, and a third one encodes nothing', {
  skip: movielens.skip || noKafka,
  timeout: 120_000,
}, async (t) => {
  const EVENTS = 200;
  const setup = await setUp();
  try {
    await produceMovieLens(setup.fixture, movielens.dir, EVENTS);
    const expected = await movieLensBehaviorIds(movielens.dir, EVENTS);

    // One partition at a time, in small encoder batches: the stop lands part-way through the stream,
    // after the chunk in progress.
    const first = startService(setup, 'first', { encoderBatchSize: 8, concurrentPartitions: 1 });
    await first.started;
    await waitFor('the first instance stored something', async () => (await setup.store.count()) > 0);
    await first.service.stop();
    const storedByFirst = await setup.store.count();

    const second = startService(setup, 'second');
    await second.started;
    await waitFor('the store holds every behavior', async () => (await setup.store.count()) >= expected.size);
    await waitIdle(setup.fixture);
    await second.service.stop();

    const [s1, s2] = [first.service.stats, second.service.stats];
    // Nothing the first instance finished is read again, and nothing is skipped.
    assert.equal(s1.eventsRouted + s2.eventsRouted, EVENTS);
    assert.equal(s1.refsRead + s2.refsRead, s1.refsSent + s2.refsSent);
    assert.equal(s1.refsSent + s2.refsSent, await endOffsetSum(setup.fixture, 'refs'));
    assert.equal(s1.encoded, storedByFirst);
    t.diagnostic(`first instance encoded ${s1.encoded} of ${expected.size} before it stopped`);
    assert.equal(s1.encoded + s2.encoded, expected.size);
    assert.equal(await setup.store.count(), expected.size);

    const third = startService(setup, 'third');
    await third.started;
    const refs = setup.fixture.topic('refs');
    await waitFor('the third instance joined', () => (third.service.assignment[refs] ?? []).length === 3);
    await waitIdle(setup.fixture);
    await third.service.stop();
    assert.deepEqual(
      {
        routed: third.service.stats.eventsRouted,
        read: third.service.stats.refsRead,
        encoded: third.service.stats.encoded,
      },
      { routed: 0, read: 0, encoded: 0 },
    );
    assert.equal(await setup.store.count(), expected.size);
  } finally {
    await setup.cleanup();
  }
});

test('a chunk that takes longer than the session timeout keeps the member in its group: no rebalance, each behavior encoded once', {
  skip: movielens.skip || noKafka,
  timeout: 120_000,
}, async () => {
  const EVENTS = 300;
  const SESSION_MS = 6_000;
  const setup = await setUp();
  try {
    await produceMovieLens(setup.fixture, movielens.dir, EVENTS);
    const expected = await movieLensBehaviorIds(movielens.dir, EVENTS);
    // A slow encoder: every call of 8 texts takes at least 400 ms more, so the behaviors of one
    // chunk take well over the session timeout to encode.
    const calls = Math.ceil(expected.size / 8);
    assert.ok(calls * 400 > 2 * SESSION_MS, `${calls} encoder calls outlast the session`);
    const slow = startService(setup, 'slow', {
      encoderBatchSize: 8,
      sessionTimeoutMs: SESSION_MS,
      heartbeatIntervalMs: 500,
    });
    const encode = slow.counting.encode;
    slow.counting.encode = async (texts) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return encode(texts);
    };
    await slow.started;
    await waitFor('the store holds every behavior', async () => (await setup.store.count()) >= expected.size);
    await waitIdle(setup.fixture);
    await slow.service.stop();

    const stats = slow.service.stats;
    assert.equal(stats.groupJoins, 1, 'the member joined its group once: no rebalance');
    assert.equal(stats.encoded, expected.size);
    assert.equal(slow.counting.texts(), expected.size);
    assert.equal(stats.refsRead, stats.refsSent, 'no reference was read twice');
  } finally {
    await setup.cleanup();
  }
});

test('a second group over stored behaviors sends on only the sightings of behavior events: nothing encoded, every sighting recorded once', {
  skip: movielens.skip || noKafka,
  timeout: 120_000,
}, async (t) => {
  const EVENTS = 600;
  const setup = await setUp();
  const { fixture, store } = setup;
  const sightingsInStore = async () => {
    let total = 0;
    for await (const batch of store.scan(1_000)) for (const record of batch) total += record.count;
    return total;
  };
  try {
    await produceMovieLens(fixture, movielens.dir, EVENTS);
    const first = startService(setup, 'first');
    await first.started;
    await waitIdle(fixture);
    await first.service.stop();
    const before = await sightingsInStore();

    const againGroup = `${fixture.groupId}-again`;
    const again = startService(setup, 'again', {
      groupId: againGroup,
      refsTopic: fixture.topic('refs-again'),
    });
    await again.started;
    const topics = ['behaviors', 'impressions', 'refs-again'].map((name) => fixture.topic(name));
    await waitFor('the second group has no lag', async () => {
      const lag = await consumerLag(fixture.kafka, againGroup, topics);
      return lag.size > 0 && [...lag.values()].every((behind) => behind === 0);
    });
    await again.service.stop();

    const [a, b] = [first.service.stats, again.service.stats];
    assert.equal(b.encoded, 0);
    assert.equal(b.eventsRouted, EVENTS);
    assert.ok(b.refsSkipped > 0, 'stored behaviors mentioned by impressions only were left out');
    assert.ok(b.refsSent < a.refsSent, `${b.refsSent} references sent, against ${a.refsSent} the first time`);
    assert.equal(b.refsRead, b.refsSent);
    t.diagnostic(
      `references sent: ${a.refsSent} the first time, ${b.refsSent} the second (${b.refsSkipped} left out)`,
    );
    // Every behavior event of the stream is a sighting of a stored behavior, counted once.
    assert.equal((await sightingsInStore()) - before, EVENTS / 2);
  } finally {
    await setup.cleanup();
  }
});
