/**
 * Schema evolution over a real broker: one topic carries impressions from a v1 writer and from a v2
 * writer (a field added with a default, an optional field added), and encoder services reading
 * with the v1 schema and with the v2 schema both process every message.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BehaviorIdentityCache } from '../../src/behavior/identity-cache.js';
import { OnnxEncoder } from '../../src/encoder/onnx-encoder.js';
import { EventCodec } from '../../src/events/codec.js';
import { defaultSchemaDir } from '../../src/events/registry.js';
import { OrderedProducer } from '../../src/kafka/producer.js';
import { silentLogger } from '../../src/log.js';
import { resolveImpression } from '../../src/pipeline/impressions.js';
import { EncoderService } from '../../src/services/encoder/service.js';
import { EmbeddedStore } from '../../src/store/embedded.js';
import { repoRoot, tempDir } from '../helpers/data.js';
import { kafkaFixture, kafkaSkip } from '../helpers/kafka.js';
import { defaultModel } from '../helpers/model.js';
import { waitFor } from '../helpers/services.js';

const noKafka = await kafkaSkip();
const EVOLVED_SCHEMAS = path.join(repoRoot, 'test', 'fixtures', 'schemas');
const SCHEMA_DIRS = [defaultSchemaDir(), EVOLVED_SCHEMAS];
const IMPRESSIONS = 20;

let encoder: OnnxEncoder | undefined;
before(async () => {
  if (noKafka) return;
  encoder = await OnnxEncoder.fromModel(await defaultModel(), { intraOpThreads: 1 });
});
after(async () => {
  await encoder?.close();
});

function impression(i: number) {
  return {
    eventId: `evolution-${i}`,
    userId: `u${i % 4}`,
    itemId: `item-${i}`,
    itemText: `candidate item number ${i}`,
    history: [
      { type: 'liked', text: `history title ${i}` },
      { type: 'disliked', text: `history title ${i + 1}` },
    ],
    label: (i % 2) as 0 | 1,
    timestampMs: 1_700_000_000_000 + i,
    source: 'schema-evolution-test',
  };
}

test('impressions from v1 and v2 writers on one topic are read by a v1 reader and by a v2 reader alike', {
  skip: noKafka,
  timeout: 120_000,
}, async (t) => {
  const names = ['behaviors', 'impressions', 'refs-v1', 'refs-v2'];
  const fixture = await kafkaFixture(names);
  const dir = await tempDir('bahe-schema-evolution-');
  const model = await defaultModel();
  const v1Writer = new EventCodec();
  const v2Writer = new EventCodec({ schemaDirs: SCHEMA_DIRS });
  const readers = {
    v1: new EventCodec({ schemaDirs: SCHEMA_DIRS, readerVersions: { ImpressionEvent: 1 } }),
    v2: new EventCodec({ schemaDirs: SCHEMA_DIRS }),
  };
  const producer = new OrderedProducer(fixture.kafka, silentLogger());
  const running: Array<{ service: EncoderService; store: EmbeddedStore }> = [];
  try {
    const identities = new BehaviorIdentityCache();
    const expected = new Set<string>();
    const messages = Array.from({ length: IMPRESSIONS }, (_, i) => {
      const event = impression(i);
      for (const ref of resolveImpression(event, identities).refs) expected.add(ref.id);
      const value =
        i % 2 === 0
          ? v1Writer.encode('ImpressionEvent', event)
          : v2Writer.encode('ImpressionEvent', {
              ...event,
              surface: 'home-feed',
              requestId: i % 4 === 1 ? `request-${i}` : null,
            } as never);
      return { key: event.userId, value };
    });
    // The two writers' messages differ in their fingerprints, so both versions are on the topic.
    assert.notDeepEqual(messages[0]?.value.subarray(2, 10), messages[1]?.value.subarray(2, 10));
    await producer.connect();
    await producer.send(fixture.topic('impressions'), messages);

    for (const [version, codec] of Object.entries(readers)) {
      const store = new EmbeddedStore({
        dir: path.join(dir.dir, version),
        encoderVersion: model.manifest.encoderVersion,
        dimension: model.manifest.hiddenSize,
      });
      await store.open();
      const service = new EncoderService(
        {
          kafka: fixture.kafka,
          store,
          encode: (texts) => (encoder as OnnxEncoder).encode(texts),
          logger: silentLogger(),
          codec,
        },
        {
          behaviorTopic: fixture.topic('behaviors'),
          impressionTopic: fixture.topic('impressions'),
          refsTopic: fixture.topic(`refs-${version}`),
          groupId: `${fixture.groupId}-${version}`,
          sessionTimeoutMs: 10_000,
          heartbeatIntervalMs: 500,
        },
      );
      running.push({ service, store });
      await service.start();
    }

    for (const { service, store } of running) {
      await waitFor(
        'the store holds every behavior',
        async () => (await store.count()) >= expected.size,
        60_000,
      );
      await service.stop();
      assert.deepEqual(await store.missing([...expected]), []);
      assert.equal(await store.count(), expected.size);
      assert.equal(service.stats.deadLettered, 0, 'no message was refused');
      assert.equal(service.stats.eventsRouted, IMPRESSIONS);
    }
    t.diagnostic(`${IMPRESSIONS} impressions (half v1, half v2) read by a v1 and a v2 reader`);
  } finally {
    for (const { service, store } of running) {
      await service.stop();
      await store.close();
    }
    await producer.disconnect();
    const admin = fixture.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([`${fixture.groupId}-v1`, `${fixture.groupId}-v2`]).catch(() => undefined);
    await admin.disconnect();
    await fixture.cleanup();
    await dir.cleanup();
  }
});
