import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { requireTopics } from '../../src/kafka/topics.js';
import { kafkaFixture, kafkaSkip } from '../helpers/kafka.js';

const noKafka = await kafkaSkip();

test('requireTopics passes for existing topics and names the missing ones with what to do', {
  skip: noKafka,
}, async () => {
  const fixture = await kafkaFixture(['events']);
  try {
    await requireTopics(fixture.kafka, [fixture.topic('events')], 'source topic');
    const absent = `${fixture.topic('events')}.absent`;
    await assert.rejects(
      requireTopics(fixture.kafka, [fixture.topic('events'), absent], 'source topic'),
      (error) => {
        assert.ok(isBaheError(error, 'BAHE_KAFKA_FAILED'));
        assert.match(
          error.message,
          new RegExp(`^source topic ${absent.replaceAll('.', '\\.')} does not exist`),
        );
        assert.match(error.message, /bahe produce creates the event topics/);
        return true;
      },
    );
  } finally {
    await fixture.cleanup();
  }
});
