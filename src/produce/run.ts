/** `bahe produce` as a function: open the dataset, make sure the topics exist, replay, report. */
import { EventCodec } from '../events/codec.js';
import { kafkaClientOptionsFrom } from '../kafka/cli-options.js';
import { createKafkaClient } from '../kafka/client.js';
import { OrderedProducer } from '../kafka/producer.js';
import { checkTopicName, ensureTopics } from '../kafka/topics.js';
import type { Logger } from '../log.js';
import type { MindCounts } from '../sources/mind.js';
import { openDataset } from './dataset.js';
import type { ProduceOptions } from './options.js';
import { type ProduceCounts, type ProduceTopics, produceEvents } from './produce.js';

export interface ProduceSummary extends ProduceCounts {
  dataset: 'movielens' | 'mind';
  dir: string | undefined;
  topics: ProduceTopics;
  /** MIND only: history entries and candidates left out for want of a title. */
  mindCounts?: MindCounts;
}

/** Replays the dataset named in `options` into Kafka and returns the final counts. */
export async function runProduce(
  options: ProduceOptions,
  logger: Logger,
  signal?: AbortSignal,
): Promise<ProduceSummary> {
  const topics: ProduceTopics = {
    behaviors: checkTopicName(options.behaviorTopic, 'behaviorTopic'),
    impressions: checkTopicName(options.impressionTopic, 'impressionTopic'),
  };
  const codec = new EventCodec();
  const kafka = createKafkaClient(kafkaClientOptionsFrom(options), logger);
  const dataset = await openDataset({
    dataset: options.dataset as 'movielens' | 'mind',
    data: options.data,
    cacheDir: options.cacheDir,
    skipEvents: options.skipEvents,
    maxEvents: options.maxEvents,
    maxHistory: options.maxHistory,
    logger,
  });

  if (options.createTopics) {
    await ensureTopics(
      kafka,
      [topics.behaviors, topics.impressions].map((topic) => ({
        topic,
        partitions: options.partitions,
        replicationFactor: options.replicationFactor,
      })),
      logger,
    );
  }

  const log = logger.child({ dataset: dataset.name, topics });
  log.info(
    { events: dataset.total, ratePerS: options.ratePerS || 'unlimited', ...dataset.mindCounts },
    'produce started',
  );
  const producer = new OrderedProducer(kafka, log);
  await producer.connect();
  let counts: ProduceCounts;
  try {
    counts = await produceEvents({
      producer,
      codec,
      events: dataset.events,
      topics,
      total: dataset.total,
      batchSize: options.batchSize,
      ratePerS: options.ratePerS,
      progressIntervalMs: options.progressIntervalMs,
      logger: log,
      ...(signal === undefined ? {} : { signal }),
    });
  } finally {
    await producer.disconnect();
  }
  log.info({ sent: counts.messagesSent, elapsedS: Number(counts.elapsedS.toFixed(1)) }, 'produce finished');

  return {
    dataset: dataset.name,
    dir: dataset.dir,
    topics,
    ...counts,
    ...(dataset.mindCounts === undefined ? {} : { mindCounts: dataset.mindCounts }),
  };
}

/** The final counts as an aligned table. */
export function formatProduceSummary(summary: ProduceSummary): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const rows: [string, string][] = [
    ['dataset', `${summary.dataset}${summary.dir === undefined ? '' : ` (${summary.dir})`}`],
    ['events read', n(summary.eventsRead)],
    [`  behavior events -> ${summary.topics.behaviors}`, n(summary.behaviorEvents)],
    [`  impression events -> ${summary.topics.impressions}`, n(summary.impressionEvents)],
    ['  refused by the codec', n(summary.rejected)],
    ['messages acknowledged', `${n(summary.messagesSent)} in ${n(summary.batches)} batches`],
    ['bytes (values)', n(summary.bytesSent)],
    ['elapsed', `${summary.elapsedS.toFixed(1)} s (${n(Math.round(summary.ratePerS))} events/s)`],
  ];
  if (summary.mindCounts) {
    rows.push(['MIND history entries without title', n(summary.mindCounts.historyEntriesWithoutTitle)]);
    rows.push(['MIND candidates without title', n(summary.mindCounts.candidatesWithoutTitle)]);
  }
  if (summary.stopped) rows.push(['stopped early', 'yes (signal)']);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join('\n');
}
