import { randomBytes } from 'node:crypto';
import { brokerAnswers } from '../../scripts/test-broker/probe.js';
import { createKafkaClient, type Kafka } from '../../src/kafka/client.js';
import { deleteTopics, ensureTopics } from '../../src/kafka/topics.js';
import { silentLogger } from '../../src/log.js';

/** The brokers the integration tests use: `BAHE_KAFKA_BROKERS`, or the one `npm run kafka:start` serves. */
export function kafkaBrokers(): string[] {
  return (process.env.BAHE_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim());
}

/** A client for the test brokers with short timeouts, so a missing broker fails fast. */
export function testKafka(): Kafka {
  // Five retries (about 9 s of backoff) outlast a new topic's leader election on a busy machine.
  return createKafkaClient(
    { brokers: kafkaBrokers(), clientId: 'bahe-test', retries: 5, connectionTimeoutMs: 2_000 },
    silentLogger(),
  );
}

/** False when a broker answers within a few seconds, otherwise the reason to skip, for `test(..., { skip })`. */
export async function kafkaSkip(): Promise<string | false> {
  if (await brokerAnswers(kafkaBrokers())) return false;
  return `no Kafka broker answers at ${kafkaBrokers().join(',')}; run npm test (it provides one), or start one with npm run kafka:start (or set BAHE_KAFKA_BROKERS)`;
}

export interface KafkaFixture {
  kafka: Kafka;
  /** The test's own name for `name`: unique per test, created before the test ran. */
  topic(name: string): string;
  /** A consumer group id no other test uses. */
  groupId: string;
  cleanup(): Promise<void>;
}

/** Creates the test's own topics (random suffix) and returns them with a cleanup that deletes them. */
export async function kafkaFixture(names: string[], partitions = 3): Promise<KafkaFixture> {
  const suffix = randomBytes(4).toString('hex');
  const kafka = testKafka();
  const topic = (name: string) => {
    if (!names.includes(name)) throw new Error(`topic ${name} was not requested from kafkaFixture`);
    return `test.${suffix}.${name}`;
  };
  const topics = names.map(topic);
  await ensureTopics(
    kafka,
    topics.map((t) => ({ topic: t, partitions, replicationFactor: 1 })),
    silentLogger(),
  );
  return {
    kafka,
    topic,
    groupId: `test-group-${suffix}`,
    cleanup: async () => {
      await deleteTopics(kafka, topics, silentLogger());
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([`test-group-${suffix}`]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/**
 * Reads `topics` from the beginning with a fresh consumer until `count` records arrived (in each
 * partition's order), or fails after `timeoutMs`.
 */
export async function consumeRecords(
  kafka: Kafka,
  topics: string[],
  groupId: string,
  count: number,
  timeoutMs = 30_000,
): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `consumed ${records.length} of ${count} records from ${topics.join(',')} in ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ topic, partition, message }) => {
            records.push({
              topic,
              partition,
              offset: message.offset,
              key: message.key,
              value: message.value,
            });
            if (records.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}
