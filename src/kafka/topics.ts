/** Topic creation and deletion; the brokers here run with automatic topic creation off. */

import { setTimeout as delay } from 'node:timers/promises';
import type { ITopicConfig } from 'kafkajs';
import { BaheError, ErrorCode, isBaheError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Kafka } from './client.js';
import { withKafkaErrors } from './errors.js';

export interface TopicSpec {
  topic: string;
  /** Partitions spread a topic over consumers; the key decides which partition a message lands in. */
  partitions: number;
  replicationFactor: number;
  /** Broker-side topic settings, e.g. `{ 'retention.ms': '86400000' }`. */
  config?: Record<string, string>;
}

// Kafka's own rule for topic names.
const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;

/** The dead-letter topic of `topic` unless one is configured: `<topic>.dlq`. */
export function deadLetterTopicOf(topic: string): string {
  return `${topic}.dlq`;
}

export function checkTopicName(topic: string, field = 'topic'): string {
  if (!TOPIC_PATTERN.test(topic) || topic === '.' || topic === '..') {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `${field} ${JSON.stringify(topic)} is not a Kafka topic name: 1 to 249 characters from [A-Za-z0-9._-]`,
      { context: { field } },
    );
  }
  return topic;
}

/** Rounds of list, create and check before a still-retryable failure is given up on (about 30 s in all). */
const ENSURE_ROUNDS = 6;
const ENSURE_FIRST_PAUSE_MS = 500;

/**
 * Creates the topics that do not exist yet and waits until every one of them has its leaders;
 * existing topics are left as they are (their partition count is not changed). A broker that has
 * just started, or has just created a topic, answers for a while that it does not host it: such
 * retryable failures repeat the whole round, which is idempotent, with growing pauses. Returns the
 * names it created.
 */
export async function ensureTopics(
  kafka: Kafka,
  specs: readonly TopicSpec[],
  logger: Logger,
): Promise<string[]> {
  for (const spec of specs) checkSpec(spec);
  const created: string[] = [];
  for (let round = 1; ; round += 1) {
    try {
      created.push(...(await ensureTopicsOnce(kafka, specs, logger)));
      return created;
    } catch (error) {
      if (round >= ENSURE_ROUNDS || !isBaheError(error) || !error.retryable) throw error;
      const pauseMs = ENSURE_FIRST_PAUSE_MS * 2 ** (round - 1);
      logger.warn({ err: error, round, pauseMs }, 'topics not ready yet; trying again');
      await delay(pauseMs);
    }
  }
}

async function ensureTopicsOnce(
  kafka: Kafka,
  specs: readonly TopicSpec[],
  logger: Logger,
): Promise<string[]> {
  const admin = kafka.admin();
  const names = specs.map((s) => s.topic);
  await withKafkaErrors('connecting the admin client', { topic: names.join(',') }, () => admin.connect());
  try {
    const existing = new Set(await withKafkaErrors('listing topics', {}, () => admin.listTopics()));
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      const topics: ITopicConfig[] = missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
      }));
      await withKafkaErrors('creating topics', { topic: names.join(',') }, () =>
        admin.createTopics({ topics, waitForLeaders: true }),
      );
      for (const s of missing) {
        logger.info(
          { topic: s.topic, partitions: s.partitions, replicationFactor: s.replicationFactor },
          'topic created',
        );
      }
    }
    // Fails, retryably, while a partition has no leader yet.
    await withKafkaErrors('reading topic metadata', { topic: names.join(',') }, () =>
      admin.fetchTopicMetadata({ topics: names }),
    );
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Fails with a message that says what to do when one of the topics to be read does not exist: the
 * brokers here create no topic on demand, and subscribing to a missing one fails with a broker error
 * ("does not host this topic-partition") that reads like an outage.
 */
export async function requireTopics(kafka: Kafka, topics: readonly string[], what: string): Promise<void> {
  const admin = kafka.admin();
  await withKafkaErrors('connecting the admin client', {}, () => admin.connect());
  try {
    const existing = new Set(await withKafkaErrors('listing topics', {}, () => admin.listTopics()));
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    throw new BaheError(
      ErrorCode.KAFKA_FAILED,
      `${what}${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} ` +
        'not exist on the brokers; create them (bahe produce creates the event topics, bahe trainer the ' +
        'model-update topic) or check the topic flags, then start again',
      { retryable: true, context: { topic: missing.join(',') } },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Deletes the topics that exist among `topics`; absent ones are ignored. */
export async function deleteTopics(kafka: Kafka, topics: readonly string[], logger: Logger): Promise<void> {
  const admin = kafka.admin();
  await withKafkaErrors('connecting the admin client', {}, () => admin.connect());
  try {
    const existing = new Set(await withKafkaErrors('listing topics', {}, () => admin.listTopics()));
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return;
    await withKafkaErrors('deleting topics', { topic: present.join(',') }, () =>
      admin.deleteTopics({ topics: present }),
    );
    logger.info({ topics: present }, 'topics deleted');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function checkSpec(spec: TopicSpec): void {
  checkTopicName(spec.topic);
  for (const [field, value, max] of [
    ['partitions', spec.partitions, 10_000],
    ['replicationFactor', spec.replicationFactor, 100],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new BaheError(
        ErrorCode.CONFIG_INVALID,
        `${field} of topic ${spec.topic} must be an integer in [1, ${max}], got ${value}`,
        {
          context: { field, topic: spec.topic },
        },
      );
    }
  }
}
