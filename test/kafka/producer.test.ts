import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OrderedProducer, type SendResult } from '../../src/kafka/producer.js';
import { silentLogger } from '../../src/log.js';
import { consumeRecords, kafkaFixture, kafkaSkip } from '../helpers/kafka.js';

const noKafka = await kafkaSkip();

test('OrderedProducer keeps each key in order even when sends are fired without awaiting them', {
  skip: noKafka,
  timeout: 60_000,
}, async () => {
  const fixture = await kafkaFixture(['ordered'], 4);
  const producer = new OrderedProducer(fixture.kafka, silentLogger());
  try {
    await producer.connect();
    const keys = 12;
    const rounds = 40;
    // Many small sends started at once: only the producer's own queue can keep them in order.
    const sends: Promise<SendResult>[] = [];
    for (let round = 0; round < rounds; round++) {
      const messages = Array.from({ length: keys }, (_, k) => ({
        key: `user-${k}`,
        value: Buffer.from(String(round)),
      }));
      sends.push(producer.send(fixture.topic('ordered'), messages));
    }
    const results = await Promise.all(sends);
    assert.equal(
      results.reduce((sum, r) => sum + r.messages, 0),
      keys * rounds,
    );

    const records = await consumeRecords(
      fixture.kafka,
      [fixture.topic('ordered')],
      fixture.groupId,
      keys * rounds,
    );
    const byKey = new Map<string, { partition: number; rounds: number[] }>();
    for (const record of records) {
      const key = record.key?.toString() ?? '';
      const entry = byKey.get(key) ?? { partition: record.partition, rounds: [] };
      assert.equal(record.partition, entry.partition, `${key} landed in two partitions`);
      entry.rounds.push(Number(record.value?.toString()));
      byKey.set(key, entry);
    }
    assert.equal(byKey.size, keys);
    const inOrder = Array.from({ length: rounds }, (_, i) => i);
    for (const [key, entry] of byKey) assert.deepEqual(entry.rounds, inOrder, `${key} out of order`);
    assert.ok(
      new Set([...byKey.values()].map((e) => e.partition)).size > 1,
      'keys should spread over partitions',
    );
  } finally {
    await producer.disconnect();
    await fixture.cleanup();
  }
});
