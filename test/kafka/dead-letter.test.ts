import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { EventCodec } from '../../src/events/codec.js';
import { DeadLetterWriter } from '../../src/kafka/dead-letter.js';
import { OrderedProducer } from '../../src/kafka/producer.js';
import { silentLogger } from '../../src/log.js';
import { consumeRecords, kafkaFixture, kafkaSkip } from '../helpers/kafka.js';

const noKafka = await kafkaSkip();

test('a message the codec cannot read goes to <topic>.dlq with the reason, the code and its source coordinates', {
  skip: noKafka,
  timeout: 60_000,
}, async () => {
  const fixture = await kafkaFixture(['behaviors', 'behaviors.dlq']);
  const codec = new EventCodec();
  const producer = new OrderedProducer(fixture.kafka, silentLogger());
  try {
    await producer.connect();
    const good = codec.encode('BehaviorEvent', {
      eventId: 'e1',
      userId: 'u1',
      type: 'liked',
      text: 'A film title',
      timestampMs: 1,
      source: 'test',
    });
    const corrupt = Buffer.from('not an avro single-object message');
    await producer.send(fixture.topic('behaviors'), [
      { key: 'u1', value: good },
      { key: 'u1', value: corrupt },
    ]);

    const [first, second] = await consumeRecords(
      fixture.kafka,
      [fixture.topic('behaviors')],
      fixture.groupId,
      2,
    );
    assert.ok(first?.value && second?.value);
    assert.equal(codec.decodeAs('BehaviorEvent', first.value).eventId, 'e1');
    let failure: unknown;
    try {
      codec.decode(second.value);
    } catch (err) {
      failure = err;
    }
    assert.ok(isBaheError(failure, 'BAHE_EVENT_INVALID'));

    const writer = new DeadLetterWriter({ producer, codec, logger: silentLogger() });
    assert.equal(writer.topicFor(second.topic), fixture.topic('behaviors.dlq'));
    await writer.write({ ...second }, failure);

    const [dead] = await consumeRecords(
      fixture.kafka,
      [fixture.topic('behaviors.dlq')],
      `${fixture.groupId}-dlq`,
      1,
    );
    assert.ok(dead?.value);
    assert.equal(dead.key?.toString(), 'u1');
    const letter = codec.decodeAs('DeadLetter', dead.value);
    assert.equal(letter.code, 'BAHE_EVENT_INVALID');
    assert.match(letter.reason, /not the Avro single-object marker/);
    assert.equal(letter.sourceTopic, fixture.topic('behaviors'));
    assert.equal(letter.partition, second.partition);
    assert.equal(letter.offset, second.offset);
    assert.equal(letter.offset, '1');
    assert.deepEqual(letter.payload, corrupt);
  } finally {
    await producer.disconnect();
    await fixture.cleanup();
  }
});
