/**
 * The encoder service: one member of a Kafka consumer group that reads behavior and impression
 * events, re-keys every behavior mention by behavior id into an internal topic (stage 1), and from
 * that topic encodes and stores the behaviors not stored yet (stage 2). Partitions of the internal
 * topic are owned by one member at a time, so two instances never encode the same behavior.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { BehaviorIdentityCache } from '../../behavior/identity-cache.js';
import { BaheError, ErrorCode } from '../../errors.js';
import { EventCodec } from '../../events/codec.js';
import type { Kafka } from '../../kafka/client.js';
import { DeadLetterWriter } from '../../kafka/dead-letter.js';
import { withKafkaErrors } from '../../kafka/errors.js';
import { OrderedProducer } from '../../kafka/producer.js';
import { deadLetterTopicOf, ensureTopics, requireTopics } from '../../kafka/topics.js';
import type { Logger } from '../../log.js';
import { BehaviorVectors, type EncodeTexts } from '../../pipeline/behavior-vectors.js';
import type { BehaviorStore } from '../../store/types.js';
import { groupConsumer, releaseClients, ServiceLifecycle } from '../lifecycle.js';
import { AdmissionCounter } from './admission.js';
import { checkEncoderServiceOptions, type EncoderServiceOptions } from './service-options.js';
import { type Chunk, encodeChunk, routeChunk, type StageCounts, type StageDeps } from './stages.js';
import { StoredBehaviors } from './stored-behaviors.js';

/**
 * Most messages per chunk, in both stages. Each chunk costs a producer request (stage 1), a store
 * write (stage 2) and a commit, so larger chunks go faster; a crash redelivers at most one chunk per
 * partition, which the stages handle as repeats. The member heartbeats while a chunk is in progress.
 */
const CHUNK_MESSAGES = 5_000;

export interface EncoderServiceDeps {
  kafka: Kafka;
  /** Opened and closed by the caller; shared by every instance that encodes for it. */
  store: BehaviorStore;
  /** The encoder (lower layers); opened and closed by the caller. */
  encode: EncodeTexts;
  logger: Logger;
  codec?: EventCodec;
}

/** What one instance did since it started. */
export interface EncoderServiceStats extends StageCounts {
  /** Texts run through the encoder by this instance. */
  encoded: number;
  encoderBatches: number;
  /** Admitted behaviors found already stored (no encoder call). */
  alreadyStored: number;
  /** Times this member joined its group: more than once means it went through rebalances. */
  groupJoins: number;
}

export class EncoderService {
  readonly options: EncoderServiceOptions;
  readonly #deps: EncoderServiceDeps;
  readonly #logger: Logger;
  readonly #producer: OrderedProducer;
  readonly #vectors: BehaviorVectors;
  readonly #admission: AdmissionCounter;
  readonly #stages: StageDeps;
  readonly #counts: StageCounts = {
    eventsRouted: 0,
    deadLettered: 0,
    mentionsRouted: 0,
    refsSent: 0,
    refsSkipped: 0,
    refsRead: 0,
    refsAdmitted: 0,
  };
  #consumer: Consumer | undefined;
  #groupJoins = 0;
  #assignment: Readonly<Record<string, readonly number[]>> = {};
  readonly #life: ServiceLifecycle;

  constructor(deps: EncoderServiceDeps, options: Parameters<typeof checkEncoderServiceOptions>[0]) {
    this.options = checkEncoderServiceOptions(options);
    this.#deps = deps;
    this.#logger = deps.logger.child({ component: 'encoder-service', groupId: this.options.groupId });
    const codec = deps.codec ?? new EventCodec();
    this.#producer = new OrderedProducer(deps.kafka, this.#logger);
    // The vector cache serves lookups, which this service never makes: one entry is enough. The
    // seen-set inside BehaviorVectors still grows with the behaviors this instance has handled.
    this.#vectors = new BehaviorVectors(deps.store, deps.encode, {
      encoderBatchSize: this.options.encoderBatchSize,
      encoderMaxWaitMs: this.options.encoderMaxWaitMs,
      cacheSize: 1,
    });
    this.#admission = new AdmissionCounter(this.options.admissionThreshold);
    this.#stages = {
      codec,
      identities: new BehaviorIdentityCache(),
      producer: this.#producer,
      deadLetters: new DeadLetterWriter({
        producer: this.#producer,
        codec,
        logger: this.#logger,
        ...(this.options.deadLetterTopic === undefined ? {} : { topic: this.options.deadLetterTopic }),
      }),
      vectors: this.#vectors,
      store: deps.store,
      admission: this.#admission,
      stored: new StoredBehaviors(deps.store),
      impressionTopic: this.options.impressionTopic,
      refsTopic: this.options.refsTopic,
      counts: this.#counts,
    };
    this.#life = new ServiceLifecycle('encoder service', this.#logger, {
      start: () => this.#start(),
      release: () =>
        releaseClients(this.#logger, {
          consumer: this.#consumer,
          vectors: this.#vectors,
          producer: this.#producer,
        }),
      describeFailure: (error) =>
        new BaheError(
          ErrorCode.KAFKA_FAILED,
          `the encoder service's consumer failed: ${error instanceof Error ? error.message : String(error)}; ` +
            'check that the brokers are reachable, then start the service again (committed work is kept)',
          { cause: error, retryable: true, context: { groupId: this.options.groupId } },
        ),
      stats: () => this.stats,
    });
  }

  get stats(): EncoderServiceStats {
    const vectors = this.#vectors.stats;
    return {
      ...this.#counts,
      encoded: vectors.encoded,
      encoderBatches: vectors.encoderBatches,
      alreadyStored: vectors.alreadyStored,
      groupJoins: this.#groupJoins,
    };
  }

  /** Partitions this member owns, by topic, as of its latest join of the group; empty before the first. */
  get assignment(): Readonly<Record<string, readonly number[]>> {
    return this.#assignment;
  }

  /** Creates missing topics (when enabled), joins the group and starts consuming; resolves once consuming. */
  start(): Promise<void> {
    return this.#life.start();
  }

  /** Resolves when the service has stopped; rejects with the failure that ended it otherwise. */
  whenEnded(): Promise<void> {
    return this.#life.whenEnded();
  }

  /**
   * Stops fetching, lets the batches in flight finish their current chunk, commits what is stored,
   * leaves the group and disconnects. The store and the encoder stay open (the caller owns them).
   */
  stop(): Promise<void> {
    // kafkajs' stop, in releasing the clients, waits for the batches in flight: each ends after its
    // current chunk and commits it.
    return this.#life.stop('finishing the chunks in flight');
  }

  async #start(): Promise<void> {
    const { options } = this;
    if (options.createTopics) await this.#createTopics();
    await this.#producer.connect();

    const consumer = groupConsumer(this.#deps.kafka, options, (error) =>
      this.#life.mayRestart(error, options.maxConsumerRestarts),
    );
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#groupJoins += 1;
      this.#assignment = payload.memberAssignment;
      const owned = payload.memberAssignment[options.refsTopic] ?? [];
      this.#admission.retainOnly(owned);
      this.#logger.info(
        { assignment: payload.memberAssignment, memberId: payload.memberId },
        'joined the group',
      );
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) void this.#life.fail(payload.error);
    });

    const topics = [options.behaviorTopic, options.impressionTopic, options.refsTopic];
    await withKafkaErrors('connecting the consumer', { groupId: options.groupId }, () => consumer.connect());
    await requireTopics(this.#deps.kafka, [options.behaviorTopic, options.impressionTopic], 'source topic');
    await withKafkaErrors('subscribing', { topic: topics.join(',') }, () =>
      consumer.subscribe({ topics, fromBeginning: options.fromBeginning }),
    );
    await withKafkaErrors('starting the consumer', { groupId: options.groupId }, () =>
      consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.concurrentPartitions,
        eachBatch: (payload) => this.#onBatch(payload),
      }),
    );
    this.#logger.info(
      {
        topics,
        admissionThreshold: options.admissionThreshold,
        encoderBatchSize: options.encoderBatchSize,
        encoderMaxWaitMs: options.encoderMaxWaitMs,
      },
      'encoder service started',
    );
  }

  async #createTopics(): Promise<void> {
    const { options } = this;
    const replicationFactor = options.replicationFactor;
    const deadLetterTopics = new Set(
      options.deadLetterTopic !== undefined
        ? [options.deadLetterTopic]
        : [options.behaviorTopic, options.impressionTopic, options.refsTopic].map(deadLetterTopicOf),
    );
    await ensureTopics(
      this.#deps.kafka,
      [
        { topic: options.refsTopic, partitions: options.refsPartitions, replicationFactor },
        // Dead letters are rare; one partition keeps them in the order they failed.
        ...[...deadLetterTopics].map((topic) => ({ topic, partitions: 1, replicationFactor })),
      ],
      this.#logger,
    );
  }

  /**
   * One fetched batch of one partition, in chunks: each chunk's effects are made durable, then its
   * offsets resolved and committed, then a heartbeat keeps the member in its group however long the
   * batch takes. A stop request ends the batch after the chunk in progress.
   */
  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const stage2 = batch.topic === this.options.refsTopic;
    const log = this.#logger.child({ topic: batch.topic, partition: batch.partition });

    for (let start = 0; start < batch.messages.length; start += CHUNK_MESSAGES) {
      if (!payload.isRunning() || payload.isStale()) break;
      const messages = batch.messages.slice(start, start + CHUNK_MESSAGES);
      const chunk: Chunk = { topic: batch.topic, partition: batch.partition, messages };
      await whileHeartbeating(payload, this.options.heartbeatIntervalMs, () =>
        stage2 ? encodeChunk(chunk, this.#stages) : routeChunk(chunk, this.#stages),
      );

      const last = messages[messages.length - 1];
      if (last !== undefined) payload.resolveOffset(last.offset);
      await payload.commitOffsetsIfNecessary(payload.uncommittedOffsets());
      await payload.heartbeat();
      log.debug(
        { messages: messages.length, lastOffset: last?.offset },
        stage2 ? 'chunk encoded' : 'chunk routed',
      );
    }
    this.#life.consumed();
  }
}

/**
 * Runs `work` while heartbeating every `intervalMs`, so that a chunk of many new behaviors keeps the
 * member in its group. A heartbeat failure (a rebalance) is left to the heartbeat after the chunk,
 * which raises it where kafkajs handles it.
 */
async function whileHeartbeating(
  payload: EachBatchPayload,
  intervalMs: number,
  work: () => Promise<void>,
): Promise<void> {
  const timer = setInterval(() => {
    payload.heartbeat().catch(() => undefined);
  }, intervalMs);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
}
