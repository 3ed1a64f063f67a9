/**
 * An idempotent producer that keeps each key's messages in order: one send at a time, each awaited
 * before the next starts, and one request in flight per broker.
 */
import kafkajs, { type IHeaders, type Producer, type TopicMessages } from 'kafkajs';
import type { Logger } from '../log.js';
import type { Kafka } from './client.js';
import { withKafkaErrors } from './errors.js';

const { Partitioners } = kafkajs;

/** One message: `key` picks the partition (murmur2, as the Java client does), so a key stays in order; null spreads. */
export interface OutgoingMessage {
  key: string | Buffer | null;
  value: Buffer;
  headers?: IHeaders;
}

/** What one send wrote, per topic. */
export interface SendResult {
  messages: number;
  bytes: number;
}

/**
 * Wraps a kafkajs idempotent producer. Sends are queued behind each other even when a caller does not
 * await them, because concurrent sends on an idempotent producer can reorder a key's messages.
 *
 * Limitation: retries are bounded (the client's `retries`), so a long outage fails the send with a
 * retryable BAHE_KAFKA_FAILED; such a send may have been partly written, and sending it again can
 * duplicate (never reorder) what was written before the failure.
 */
export class OrderedProducer {
  readonly #producer: Producer;
  readonly #logger: Logger;
  #tail: Promise<unknown> = Promise.resolve();
  #connected = false;

  constructor(kafka: Kafka, logger: Logger) {
    this.#logger = logger.child({ component: 'producer' });
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
  }

  async connect(): Promise<void> {
    await withKafkaErrors('connecting the producer', {}, () => this.#producer.connect());
    this.#connected = true;
    this.#logger.debug('producer connected');
  }

  /** Sends `messages` to `topic` once every earlier send has finished; resolves when the broker acknowledged. */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<SendResult> {
    return this.sendBatch([{ topic, messages }]);
  }

  /** Sends to several topics in one request, after every earlier send; acks from all in-sync replicas. */
  sendBatch(batch: readonly { topic: string; messages: readonly OutgoingMessage[] }[]): Promise<SendResult> {
    const run = this.#tail.then(() => this.#sendNow(batch));
    // The queue goes on after a failed send; the failure reaches the caller of that send.
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Waits for queued sends, then disconnects. */
  async disconnect(): Promise<void> {
    await this.#tail;
    if (!this.#connected) return;
    this.#connected = false;
    await withKafkaErrors('disconnecting the producer', {}, () => this.#producer.disconnect());
    this.#logger.debug('producer disconnected');
  }

  async #sendNow(
    batch: readonly { topic: string; messages: readonly OutgoingMessage[] }[],
  ): Promise<SendResult> {
    const topicMessages: TopicMessages[] = batch
      .filter((entry) => entry.messages.length > 0)
      .map(({ topic, messages }) => ({ topic, messages: messages.map((m) => ({ ...m })) }));
    let messages = 0;
    let bytes = 0;
    for (const entry of topicMessages) {
      messages += entry.messages.length;
      for (const m of entry.messages) bytes += (m.value as Buffer).length;
    }
    if (messages === 0) return { messages, bytes };

    const topics = topicMessages.map((entry) => entry.topic).join(',');
    await withKafkaErrors(`sending ${messages} messages to ${topics}`, { topic: topics }, () =>
      this.#producer.sendBatch({ topicMessages, acks: -1 }),
    );
    return { messages, bytes };
  }
}
