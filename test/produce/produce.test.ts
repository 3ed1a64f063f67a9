import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions } from '../../src/config/options.js';
import { EventCodec } from '../../src/events/codec.js';
import type { EventKind } from '../../src/events/types.js';
import { silentLogger } from '../../src/log.js';
import { PRODUCE_OPTION_SPECS } from '../../src/produce/options.js';
import { runProduce } from '../../src/produce/run.js';
import { openMovieLens100k } from '../../src/sources/movielens.js';
import { datasetDir } from '../helpers/data.js';
import { consumeRecords, kafkaBrokers, kafkaFixture, kafkaSkip } from '../helpers/kafka.js';

const movielens = datasetDir('movielens-100k');
const noKafka = await kafkaSkip();
const EVENTS = 2_000;

test('bahe produce replays the first 2,000 MovieLens events; a consumer reads every one back, decoded, in per-user order', {
  skip: movielens.skip || noKafka,
  timeout: 60_000,
}, async () => {
  const fixture = await kafkaFixture(['behaviors', 'impressions']);
  try {
    const argv = [
      ...['--data', movielens.dir, '--max-events', String(EVENTS), '--batch-size', '128'],
      ...['--behavior-topic', fixture.topic('behaviors'), '--impression-topic', fixture.topic('impressions')],
      ...['--kafka-brokers', kafkaBrokers().join(','), '--kafka-client-id', 'bahe-test-produce'],
    ];
    const { options } = parseOptions(PRODUCE_OPTION_SPECS, argv, {});
    const summary = await runProduce(options, silentLogger());
    assert.equal(summary.eventsRead, EVENTS);
    assert.equal(summary.messagesSent, EVENTS);
    assert.equal(summary.behaviorEvents + summary.impressionEvents, EVENTS);
    assert.equal(summary.rejected, 0);

    // The expected order per (kind, user): the source's own order.
    const expected = new Map<string, string[]>();
    let read = 0;
    for await (const item of await openMovieLens100k({ dir: movielens.dir, maxImpressions: EVENTS / 2 })) {
      const key = `${item.kind}/${item.event.userId}`;
      expected.set(key, [...(expected.get(key) ?? []), item.event.eventId]);
      read++;
    }
    assert.equal(read, EVENTS);

    const records = await consumeRecords(
      fixture.kafka,
      [fixture.topic('behaviors'), fixture.topic('impressions')],
      fixture.groupId,
      EVENTS,
    );
    const codec = new EventCodec();
    const seen = new Map<string, string[]>();
    const partitionOfUser = new Map<string, number>();
    for (const record of records) {
      assert.ok(record.value && record.key);
      const decoded = codec.decode(record.value);
      const kind: EventKind =
        record.topic === fixture.topic('behaviors') ? 'BehaviorEvent' : 'ImpressionEvent';
      assert.equal(decoded.kind, kind);
      assert.equal(decoded.fingerprint, codec.writerFingerprint(kind));
      assert.equal(record.value.subarray(2, 10).toString('hex'), codec.writerFingerprint(kind));
      const event = decoded.event as { userId: string; eventId: string };
      assert.equal(record.key.toString(), event.userId);

      const where = `${record.topic}/${event.userId}`;
      const partition = partitionOfUser.get(where) ?? record.partition;
      assert.equal(
        record.partition,
        partition,
        `user ${event.userId} spread over partitions of ${record.topic}`,
      );
      partitionOfUser.set(where, partition);
      const key = `${kind}/${event.userId}`;
      seen.set(key, [...(seen.get(key) ?? []), event.eventId]);
    }
    assert.deepEqual(seen, expected);
  } finally {
    await fixture.cleanup();
  }
});
