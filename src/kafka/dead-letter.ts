/** Writes records that could not be processed to a dead-letter topic, as DeadLetter events. */
import { BaheError, ErrorCode, isBaheError } from '../errors.js';
import type { EventCodec } from '../events/codec.js';
import type { Logger } from '../log.js';
import type { OrderedProducer } from './producer.js';
import { checkTopicName, deadLetterTopicOf } from './topics.js';

/** Where a failed record came from, with its bytes as read. */
export interface FailedRecord {
  topic: string;
  /** -1 when the record came from no partition. */
  partition: number;
  /** Kafka offset as a decimal string. */
  offset: string;
  key?: Buffer | string | null;
  value: Buffer | null;
}

export interface DeadLetterWriterOptions {
  producer: OrderedProducer;
  codec: EventCodec;
  logger: Logger;
  /** One topic for every dead letter; by default each source topic has its own `<topic>.dlq`. */
  topic?: string;
}

/**
 * Sends a DeadLetter (reason, code, source topic, partition, offset, original bytes) for each failed
 * record, keyed like the original so a key's dead letters keep their order. The topic must exist.
 */
export class DeadLetterWriter {
  readonly #producer: OrderedProducer;
  readonly #codec: EventCodec;
  readonly #logger: Logger;
  readonly #topic: string | undefined;

  constructor(options: DeadLetterWriterOptions) {
    this.#producer = options.producer;
    this.#codec = options.codec;
    this.#logger = options.logger.child({ component: 'dead-letter' });
    this.#topic = options.topic === undefined ? undefined : checkTopicName(options.topic, 'deadLetterTopic');
  }

  /** The dead-letter topic for records of `sourceTopic`. */
  topicFor(sourceTopic: string): string {
    return this.#topic ?? deadLetterTopicOf(sourceTopic);
  }

  /** Writes one dead letter for `record` and why it failed; resolves once the broker has it. */
  async write(record: FailedRecord, failure: unknown): Promise<void> {
    const error = asBaheError(failure);
    const topic = this.topicFor(record.topic);
    const value = this.#codec.encode('DeadLetter', {
      reason: error.message,
      code: error.code,
      sourceTopic: record.topic,
      partition: record.partition,
      offset: record.offset,
      payload: record.value ?? Buffer.alloc(0),
      failedAtMs: Date.now(),
    });
    await this.#producer.send(topic, [{ key: record.key ?? null, value }]);
    this.#logger.error(
      {
        deadLetterTopic: topic,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        code: error.code,
        err: error,
      },
      'record sent to the dead-letter topic',
    );
  }
}

// A failure that is not one of ours still needs a code in the dead letter; it counts as unreadable input.
function asBaheError(failure: unknown): BaheError {
  if (isBaheError(failure)) return failure;
  const message = failure instanceof Error ? failure.message : String(failure);
  return new BaheError(ErrorCode.EVENT_INVALID, `record could not be processed: ${message}`, {
    cause: failure,
  });
}
