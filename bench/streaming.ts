/**
 * Streaming through a real broker: events per second through the encoder service for behaviors
 * already stored (the dedupe path) against a bare kafkajs consume loop over the same topic, then
 * for new behaviors, and freshness (produce to vector readable) at half the new-behavior rate.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BehaviorIdentityCache } from '../src/behavior/identity-cache.js';
import { OnnxEncoder } from '../src/encoder/onnx-encoder.js';
import { EventCodec } from '../src/events/codec.js';
import type { BehaviorEvent, ImpressionEvent } from '../src/events/types.js';
import { createKafkaClient, type Kafka } from '../src/kafka/client.js';
import { OrderedProducer } from '../src/kafka/producer.js';
import { deadLetterTopicOf, deleteTopics, ensureTopics } from '../src/kafka/topics.js';
import { silentLogger } from '../src/log.js';
import { loadModel } from '../src/model/load.js';
import { DEFAULT_MODEL_DIR, SHARED_DATA_DIR } from '../src/paths.js';
import { ITEM_BEHAVIOR_TYPE } from '../src/pipeline/impressions.js';
import { consumerLagWith } from '../src/services/encoder/lag.js';
import { EncoderService } from '../src/services/encoder/service.js';
import { parseItems } from '../src/sources/movielens-files.js';
import { EmbeddedStore } from '../src/store/embedded.js';
import { kafkaBrokers as brokers, kafkaSkip } from '../test/helpers/kafka.js';
import { log, quantile, THREADS } from './common.js';

export interface StreamingOptions {
  /** Behavior events in the dedupe and bare-consume runs. */
  seenEvents: number;
  /** Behavior events, each a new behavior, in the new-behavior run. */
  newEvents: number;
  /** Impression events (histories of stored behaviors) in the impression dedupe run. */
  impressionEvents: number;
  freshnessSeconds: number;
}

export interface StreamingSection {
  brokers: string[];
  skipped?: string;
  partitions: number;
  seenEvents: number;
  uniqueSeenBehaviors: number;
  /** Behavior events/s, first event handled to group lag 0. */
  dedupePerS: number;
  /** A kafkajs loop that does nothing with the events. */
  barePerS: number;
  dedupeRatio: number;
  /** A kafkajs loop that decodes each event and derives its behavior id, the least any reader does. */
  decodePerS: number;
  dedupeOfDecode: number;
  /** The same three over impression events whose histories and candidates are all stored. */
  impressions: {
    events: number;
    mentionsPerEvent: number;
    dedupePerS: number;
    barePerS: number;
    decodePerS: number;
  };
  newEvents: number;
  newPerS: number;
  freshness?: {
    ratePerS: number;
    seconds: number;
    produced: number;
    readable: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
  };
}

const PARTITIONS = 3;
/** History entries of each impression in the impression dedupe run (half liked, half disliked). */
const IMPRESSION_HISTORY = 20;
const WAIT_MS = 300_000;

/** The benchmark's own topics and group id prefix (random suffix), deleted by `cleanup`. */
/**
 * The topics of one benchmark run: source topics shared by the groups that read them, and an internal
 * topic of each group's own (two groups over one internal topic would each read the other's
 * references).
 */
async function topicSet(kafka: Kafka, name: string) {
  const prefix = `bench.${randomBytes(4).toString('hex')}.${name}`;
  const sources = {
    behaviors: `${prefix}.behaviors`,
    impressions: `${prefix}.impressions`,
  };
  const logger = silentLogger();
  const created: string[] = [];
  const create = async (topics: string[]) => {
    const all = topics.flatMap((topic) => [topic, deadLetterTopicOf(topic)]);
    await ensureTopics(
      kafka,
      all.map((topic) => ({ topic, partitions: PARTITIONS, replicationFactor: 1 })),
      logger,
    );
    created.push(...all);
  };
  await create(Object.values(sources));
  const group = `${prefix}.group`;
  /** The consumer group and internal topic of one run over these sources. */
  const run = async (runName: string) => {
    const refs = `${prefix}.${runName}.refs`;
    await create([refs]);
    return { group: `${group}.${runName}`, refs };
  };
  const cleanup = async () => {
    await deleteTopics(kafka, created, logger);
    // Every consumer group the runs made starts with the set's group id.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.listGroups();
      const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith(group));
      if (ours.length > 0) await admin.deleteGroups(ours);
    } finally {
      await admin.disconnect();
    }
  };
  return { ...sources, group, run, cleanup };
}

async function produce(
  producer: OrderedProducer,
  codec: EventCodec,
  topic: string,
  events: BehaviorEvent[] | ImpressionEvent[],
  kind: 'BehaviorEvent' | 'ImpressionEvent' = 'BehaviorEvent',
) {
  for (let start = 0; start < events.length; start += 500) {
    const messages = events.slice(start, start + 500).map((event) => ({
      key: event.userId,
      value:
        kind === 'BehaviorEvent'
          ? codec.encode(kind, event as BehaviorEvent)
          : codec.encode(kind, event as ImpressionEvent),
    }));
    await producer.send(topic, messages);
  }
}

async function waitFor(check: () => Promise<boolean> | boolean, pollMs = 50): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the streaming benchmark waited more than ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Starts an encoder service for one run over `topics`; resolves once its member owns partitions. */
async function startService(
  kafka: Kafka,
  store: EmbeddedStore,
  encoder: OnnxEncoder,
  topics: Awaited<ReturnType<typeof topicSet>>,
  runName: string,
) {
  const { group, refs } = await topics.run(runName);
  const service = new EncoderService(
    { kafka, store, encode: (texts) => encoder.encode(texts), logger: silentLogger() },
    {
      behaviorTopic: topics.behaviors,
      impressionTopic: topics.impressions,
      refsTopic: refs,
      groupId: group,
      refsPartitions: PARTITIONS,
      createTopics: false,
    },
  );
  await service.start();
  await waitFor(() => Object.keys(service.assignment).length > 0, 5);
  return { service, group, refs };
}

/** Runs an encoder service over `topics` until its group has no lag; behavior events/s from its first routed event. */
async function serviceRate(
  kafka: Kafka,
  store: EmbeddedStore,
  encoder: OnnxEncoder,
  topics: Awaited<ReturnType<typeof topicSet>>,
  runName: string,
  events: number,
): Promise<number> {
  const { service, group, refs } = await startService(kafka, store, encoder, topics, runName);
  // From the moment the member owns partitions, as for the bare consumer: the group join is left out.
  const first = performance.now();
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(async () => {
      const lag = await consumerLagWith(admin, group, [topics.behaviors, topics.impressions, refs]);
      return [...lag.values()].every((behind) => behind === 0);
    }, 20);
  } finally {
    await admin.disconnect();
  }
  const seconds = (performance.now() - first) / 1000;
  await service.stop();
  return events / seconds;
}

/**
 * A kafkajs consumer over `topic` that does `work` for each message (nothing, for the bare loop):
 * messages/s from the moment it joined its group to the end of the last batch, so the join is left
 * out as it is for the service.
 */
async function loopRate(
  kafka: Kafka,
  topic: string,
  group: string,
  events: number,
  work: (value: Buffer) => void = () => undefined,
): Promise<number> {
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  let joined = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = performance.now();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let last = 0;
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) work(message.value as Buffer);
      seen += batch.messages.length;
      last = performance.now();
    },
  });
  await waitFor(() => seen >= events, 5);
  await consumer.disconnect();
  return events / ((last - joined) / 1000);
}

/** Impression `k`: a history of MovieLens titles, half liked and half disliked, and a title as candidate. */
function impression(k: number, titles: string[]): ImpressionEvent {
  const title = (n: number) => titles[n % titles.length] as string;
  return {
    eventId: `bench-impression:${k}`,
    userId: String(k % 943),
    itemId: String(k % titles.length),
    itemText: title(k * 7),
    history: Array.from({ length: IMPRESSION_HISTORY }, (_, i) => ({
      type: i % 2 === 0 ? 'liked' : 'disliked',
      text: title(k * 13 + i * 31),
    })),
    label: k % 3 === 0 ? 1 : 0,
    timestampMs: Date.now(),
    source: 'bench',
  };
}

/** What any reader of the events must do with each: decode it and derive its behavior ids. */
function decodeAndIdentify(
  codec: EventCodec,
  kind: 'BehaviorEvent' | 'ImpressionEvent',
): (value: Buffer) => void {
  const identities = new BehaviorIdentityCache();
  if (kind === 'BehaviorEvent') {
    return (value) => {
      const event = codec.decodeAs(kind, value);
      identities.identify(event.type, event.text);
    };
  }
  return (value) => {
    const event = codec.decodeAs(kind, value);
    for (const entry of event.history) identities.identify(entry.type, entry.text);
    identities.identify(ITEM_BEHAVIOR_TYPE, event.itemText);
  };
}

export async function runStreaming(options: StreamingOptions): Promise<StreamingSection> {
  const base = {
    brokers: brokers(),
    partitions: PARTITIONS,
    seenEvents: options.seenEvents,
    uniqueSeenBehaviors: 0,
    dedupePerS: Number.NaN,
    barePerS: Number.NaN,
    dedupeRatio: Number.NaN,
    decodePerS: Number.NaN,
    dedupeOfDecode: Number.NaN,
    impressions: {
      events: options.impressionEvents,
      mentionsPerEvent: IMPRESSION_HISTORY + 1,
      dedupePerS: Number.NaN,
      barePerS: Number.NaN,
      decodePerS: Number.NaN,
    },
    newEvents: options.newEvents,
    newPerS: Number.NaN,
  };
  // The tests' probe: the same brokers, and the same advice when none answers.
  const missing = await kafkaSkip();
  if (missing !== false) return { ...base, skipped: missing };

  const itemFile = path.join(SHARED_DATA_DIR, 'movielens-100k', 'u.item');
  const titles = [...parseItems((await readFile(itemFile)).toString('latin1'), itemFile).values()];
  const model = await loadModel(DEFAULT_MODEL_DIR);
  const encoder = await OnnxEncoder.fromModel(model, { intraOpThreads: THREADS });
  const kafka = createKafkaClient({ brokers: brokers(), clientId: 'bahe-bench' }, silentLogger());
  const codec = new EventCodec();
  const producer = new OrderedProducer(kafka, silentLogger());
  await producer.connect();
  const storeDir = path.join(os.tmpdir(), `bahe-bench-store-${randomBytes(4).toString('hex')}`);
  const store = new EmbeddedStore({
    dir: storeDir,
    encoderVersion: model.manifest.encoderVersion,
    dimension: model.manifest.hiddenSize,
  });
  await store.open();
  const sets: Array<Awaited<ReturnType<typeof topicSet>>> = [];
  const event = (k: number, type: string, text: string): BehaviorEvent => ({
    eventId: `bench:${k}`,
    userId: String(k % 943),
    type,
    text,
    timestampMs: Date.now(),
    source: 'bench',
  });

  try {
    // Already-seen behaviors: MovieLens titles over and over; the store is filled by a first group.
    const seen = await topicSet(kafka, 'seen');
    sets.push(seen);
    const seenEvents = Array.from({ length: options.seenEvents }, (_, k) =>
      event(k, k % 2 === 0 ? 'liked' : 'disliked', titles[Math.floor(k / 2) % titles.length] as string),
    );
    log(`streaming: producing ${seenEvents.length} behavior events`);
    await produce(producer, codec, seen.behaviors, seenEvents);
    log('streaming: filling the store (first group)');
    await serviceRate(kafka, store, encoder, seen, 'fill', seenEvents.length);
    const uniqueSeenBehaviors = await store.count();
    log('streaming: dedupe path (second group, every behavior stored)');
    const dedupePerS = await serviceRate(kafka, store, encoder, seen, 'dedupe', seenEvents.length);
    log('streaming: bare kafkajs consume loop');
    const barePerS = await loopRate(kafka, seen.behaviors, `${seen.group}.bare`, seenEvents.length);
    log('streaming: kafkajs consume loop that decodes each event and derives its behavior id');
    const decodePerS = await loopRate(
      kafka,
      seen.behaviors,
      `${seen.group}.decode`,
      seenEvents.length,
      decodeAndIdentify(codec, 'BehaviorEvent'),
    );

    // Impression traffic: histories of stored behaviors; a first group stores the candidate items.
    const shown = await topicSet(kafka, 'impressions');
    sets.push(shown);
    const impressionEvents = Array.from({ length: options.impressionEvents }, (_, k) =>
      impression(k, titles),
    );
    log(`streaming: producing ${impressionEvents.length} impression events`);
    await produce(producer, codec, shown.impressions, impressionEvents, 'ImpressionEvent');
    await serviceRate(kafka, store, encoder, shown, 'fill', impressionEvents.length);
    log('streaming: impression dedupe path (second group, every behavior stored)');
    const impressions = {
      events: impressionEvents.length,
      mentionsPerEvent: IMPRESSION_HISTORY + 1,
      dedupePerS: await serviceRate(kafka, store, encoder, shown, 'dedupe', impressionEvents.length),
      barePerS: await loopRate(kafka, shown.impressions, `${shown.group}.bare`, impressionEvents.length),
      decodePerS: await loopRate(
        kafka,
        shown.impressions,
        `${shown.group}.decode`,
        impressionEvents.length,
        decodeAndIdentify(codec, 'ImpressionEvent'),
      ),
    };

    // New behaviors: every event a text the store has not seen.
    const fresh = await topicSet(kafka, 'new');
    sets.push(fresh);
    const newEvents = Array.from({ length: options.newEvents }, (_, k) =>
      event(k, 'liked', `${titles[k % titles.length]} #${k}`),
    );
    await produce(producer, codec, fresh.behaviors, newEvents);
    log(`streaming: ${newEvents.length} new behaviors`);
    const newPerS = await serviceRate(kafka, store, encoder, fresh, 'new', newEvents.length);

    const freshness = await measureFreshness(
      kafka,
      store,
      encoder,
      producer,
      codec,
      titles,
      newPerS / 2,
      options,
    );
    if (freshness.topics) sets.push(freshness.topics);
    return {
      ...base,
      uniqueSeenBehaviors,
      dedupePerS,
      barePerS,
      dedupeRatio: dedupePerS / barePerS,
      decodePerS,
      dedupeOfDecode: dedupePerS / decodePerS,
      impressions,
      newPerS,
      freshness: freshness.result,
    };
  } finally {
    for (const set of sets) await set.cleanup().catch(() => undefined);
    await producer.disconnect?.().catch(() => undefined);
    await store.close();
    await rm(storeDir, { recursive: true, force: true });
    await encoder.close();
  }
}

/** Produces new behaviors at `ratePerS` for a while with the service running; time until each vector is readable. */
async function measureFreshness(
  kafka: Kafka,
  store: EmbeddedStore,
  encoder: OnnxEncoder,
  producer: OrderedProducer,
  codec: EventCodec,
  titles: string[],
  ratePerS: number,
  options: StreamingOptions,
) {
  const topics = await topicSet(kafka, 'fresh');
  // The group has joined once the service owns partitions; produce only after that.
  const { service } = await startService(kafka, store, encoder, topics, 'fresh');
  log(`streaming: freshness at ${ratePerS.toFixed(0)} behaviors/s for ${options.freshnessSeconds} s`);

  const identities = new BehaviorIdentityCache();
  const pending = new Map<string, number>();
  const latencies: number[] = [];
  let produced = 0;
  const tickMs = 50;
  const started = performance.now();
  let polling = true;
  const poller = (async () => {
    while (polling || pending.size > 0) {
      const ids = [...pending.keys()];
      if (ids.length > 0) {
        const found = await store.get(ids);
        const now = performance.now();
        for (const id of found.keys()) {
          latencies.push(now - (pending.get(id) as number));
          pending.delete(id);
        }
      }
      if (!polling && performance.now() - started > (options.freshnessSeconds + 30) * 1000) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  while (performance.now() - started < options.freshnessSeconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * ratePerS) - produced;
    if (due > 0) {
      const batch = Array.from({ length: due }, (_, i) => {
        const k = produced + i;
        const text = `${titles[k % titles.length]} fresh ${k}`;
        return {
          event: {
            eventId: `fresh:${k}`,
            userId: String(k % 943),
            type: 'liked',
            text,
            timestampMs: Date.now(),
            source: 'bench',
          },
          id: identities.identify('liked', text).id,
        };
      });
      const sentAt = performance.now();
      for (const { id } of batch) pending.set(id, sentAt);
      await produce(
        producer,
        codec,
        topics.behaviors,
        batch.map((b) => b.event),
      );
      produced += due;
    }
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  polling = false;
  await poller;
  await service.stop();
  latencies.sort((a, b) => a - b);
  return {
    topics,
    result: {
      ratePerS,
      seconds: options.freshnessSeconds,
      produced,
      readable: latencies.length,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs: latencies.at(-1) ?? Number.NaN,
    },
  };
}
