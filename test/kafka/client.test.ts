import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { createKafkaClient, describeKafkaClient } from '../../src/kafka/client.js';
import { checkKafkaClientOptions } from '../../src/kafka/client-options.js';
import { kafkaFailed } from '../../src/kafka/errors.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { silentLogger } from '../../src/log.js';

test('client options: defaults fill in, bad values fail naming the field', () => {
  const checked = checkKafkaClientOptions({ brokers: ['127.0.0.1:19092'] });
  assert.equal(checked.clientId, 'bahe-stream');
  assert.equal(checked.retries, 8);
  for (const [options, field] of [
    [{ brokers: [] }, 'brokers'],
    [{ brokers: ['no-port'] }, 'brokers'],
    [{ brokers: ['127.0.0.1:99999'] }, 'brokers'],
    [{ brokers: ['127.0.0.1:0'] }, 'brokers'],
    [{ brokers: ['[::1]:39462'] }, 'brokers'],
    [{ brokers: ['h:1'], clientId: 'has space' }, 'clientId'],
    [{ brokers: ['h:1'], retries: -1 }, 'retries'],
    [{ brokers: ['h:1'], sasl: { mechanism: 'plain', username: 'u', password: '' } }, 'sasl.password'],
  ] as const) {
    assert.throws(
      () => checkKafkaClientOptions(options as never),
      (err: unknown) => isBaheError(err, 'BAHE_CONFIG_INVALID') && err.context.field === field,
    );
  }
});

test('what is logged about a client names the SASL user but never the password', () => {
  const checked = checkKafkaClientOptions({
    brokers: ['h:1'],
    sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 'hunter2-secret' },
    tls: true,
  });
  const described = JSON.stringify(describeKafkaClient(checked));
  assert.match(described, /svc/);
  assert.match(described, /scram-sha-512/);
  assert.doesNotMatch(described, /hunter2/);
});

test('kafkaFailed takes the retryable flag from kafkajs and keeps BaheErrors as they are', () => {
  const retriable = Object.assign(new Error('leader moved'), {
    name: 'KafkaJSProtocolError',
    retriable: true,
  });
  const fatal = Object.assign(new Error('topic authorization failed'), {
    name: 'KafkaJSProtocolError',
    retriable: false,
  });
  const a = kafkaFailed('sending', retriable, { topic: 't' });
  assert.equal(a.code, 'BAHE_KAFKA_FAILED');
  assert.equal(a.retryable, true);
  assert.equal(a.context.topic, 't');
  assert.equal(a.cause, retriable);
  assert.equal(kafkaFailed('sending', fatal).retryable, false);
  assert.equal(kafkaFailed('again', a), a);
  const exhausted = Object.assign(new Error('retries exhausted'), {
    name: 'KafkaJSNumberOfRetriesExceeded',
    retriable: false,
    cause: Object.assign(new Error('Connection error: ECONNREFUSED'), {
      name: 'KafkaJSConnectionError',
      retriable: true,
    }),
  });
  assert.equal(kafkaFailed('connecting', exhausted).retryable, true);
});

test('a broker that never answers fails with a retryable BAHE_KAFKA_FAILED after the bounded retries', {
  timeout: 20_000,
}, async () => {
  // A port that accepts nothing: listen, note the port, close.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));

  const kafka = createKafkaClient(
    {
      brokers: [`127.0.0.1:${address.port}`],
      retries: 1,
      initialRetryMs: 50,
      maxRetryMs: 200,
      connectionTimeoutMs: 500,
    },
    silentLogger(),
  );
  await assert.rejects(
    ensureTopics(kafka, [{ topic: 'never', partitions: 1, replicationFactor: 1 }], silentLogger()),
    (err: unknown) => {
      assert.ok(isBaheError(err, 'BAHE_KAFKA_FAILED'));
      assert.equal(err.retryable, true);
      assert.match(err.message, /connecting the admin client failed/);
      return true;
    },
  );
});
