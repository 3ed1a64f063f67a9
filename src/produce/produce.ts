/**
 * The replay loop of `bahe produce`: encode each event with its fingerprinted Avro schema, key it by
 * user, and send it in acknowledged batches, so a user's events reach each topic in stream order.
 */
import { isBaheError } from '../errors.js';
import type { EventCodec } from '../events/codec.js';
import type { OrderedProducer, OutgoingMessage } from '../kafka/producer.js';
import type { Logger } from '../log.js';
import { Progress } from '../pipeline/progress.js';
import type { DatasetEvent } from './dataset.js';
import { Pacer } from './pacer.js';

export interface ProduceTopics {
  behaviors: string;
  impressions: string;
}

export interface ProduceLoopOptions {
  producer: OrderedProducer;
  codec: EventCodec;
  events: AsyncIterable<DatasetEvent>;
  topics: ProduceTopics;
  /** Expected events, for the progress ETA. */
  total?: number;
  batchSize: number;
  /** 0: unlimited. */
  ratePerS: number;
  progressIntervalMs: number;
  logger: Logger;
  /** Stops reading; what was read is still sent before the loop returns. */
  signal?: AbortSignal;
}

export interface ProduceCounts {
  eventsRead: number;
  behaviorEvents: number;
  impressionEvents: number;
  /** Events the codec refused (invalid fields); logged, not sent. */
  rejected: number;
  messagesSent: number;
  bytesSent: number;
  batches: number;
  elapsedS: number;
  ratePerS: number;
  /** True when a signal stopped the replay before the end of the stream. */
  stopped: boolean;
}

const REJECTIONS_LOGGED = 10;

export async function produceEvents(options: ProduceLoopOptions): Promise<ProduceCounts> {
  const { producer, codec, topics, logger, signal } = options;
  const pacer = new Pacer(options.ratePerS);
  const batchSize = pacer.batchSize(options.batchSize);
  const progress = new Progress(logger, {
    unit: 'events',
    intervalMs: options.progressIntervalMs,
    ...(options.total === undefined ? {} : { total: options.total }),
  });
  const startedAt = performance.now();
  const counts: ProduceCounts = {
    eventsRead: 0,
    behaviorEvents: 0,
    impressionEvents: 0,
    rejected: 0,
    messagesSent: 0,
    bytesSent: 0,
    batches: 0,
    elapsedS: 0,
    ratePerS: 0,
    stopped: false,
  };

  let behaviors: OutgoingMessage[] = [];
  let impressions: OutgoingMessage[] = [];
  const flush = async () => {
    const size = behaviors.length + impressions.length;
    if (size === 0) return;
    await pacer.admit(size, signal);
    // Awaited before the next batch is built: at most one request is ever outstanding.
    const sent = await producer.sendBatch([
      { topic: topics.behaviors, messages: behaviors },
      { topic: topics.impressions, messages: impressions },
    ]);
    counts.messagesSent += sent.messages;
    counts.bytesSent += sent.bytes;
    counts.batches++;
    behaviors = [];
    impressions = [];
    progress.advance(sent.messages, { sent: counts.messagesSent });
  };

  for await (const item of options.events) {
    if (signal?.aborted) {
      counts.stopped = true;
      break;
    }
    counts.eventsRead++;
    let value: Buffer;
    try {
      value = codec.encode(item.kind, item.event as never);
    } catch (err) {
      if (!isBaheError(err)) throw err;
      counts.rejected++;
      if (counts.rejected <= REJECTIONS_LOGGED) {
        logger.warn({ eventId: item.event.eventId, err }, 'event refused by the codec; not sent');
      }
      continue;
    }

    const message = { key: item.event.userId, value };
    if (item.kind === 'BehaviorEvent') {
      counts.behaviorEvents++;
      behaviors.push(message);
    } else {
      counts.impressionEvents++;
      impressions.push(message);
    }
    if (behaviors.length + impressions.length >= batchSize) await flush();
  }
  await flush();

  counts.elapsedS = (performance.now() - startedAt) / 1000;
  counts.ratePerS = counts.elapsedS > 0 ? counts.messagesSent / counts.elapsedS : 0;
  return counts;
}
