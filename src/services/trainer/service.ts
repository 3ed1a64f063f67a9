/**
 * The trainer service: one consumer of the impression topic that trains the upper layers and the CTR
 * head in micro-batches, checkpoints with its Kafka position inside, and announces each checkpoint as
 * a model-update event.
 *
 * Exactly-once training: the checkpoint, not the group's committed offsets, says what was trained.
 * On joining the group every owned partition is sought to the checkpoint's next offset, and any
 * message below it that still arrives is skipped; the committed offsets only trail the checkpoints
 * so that lag tools see progress.
 *
 * Single writer: one trainer instance per group and state folder is the supported layout. If the
 * group rebalances partitions to a second instance, each instance trains its own parameters on its
 * own share, and neither checkpoint holds the whole stream; impressions waiting in a revoked
 * partition's micro-batch are still trained by the instance that read them. Nothing stops a second
 * instance beyond the state-folder lock; a warning is logged when this member does not own every
 * partition of the topic.
 */
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { BehaviorIdentityCache } from '../../behavior/identity-cache.js';
import { BaheError, ErrorCode, isBaheError } from '../../errors.js';
import { EventCodec } from '../../events/codec.js';
import type { Kafka } from '../../kafka/client.js';
import { DeadLetterWriter } from '../../kafka/dead-letter.js';
import { withKafkaErrors } from '../../kafka/errors.js';
import { OrderedProducer } from '../../kafka/producer.js';
import { ensureTopics, requireTopics } from '../../kafka/topics.js';
import type { Logger } from '../../log.js';
import { type BehaviorRef, BehaviorVectors, type EncodeTexts } from '../../pipeline/behavior-vectors.js';
import { resolveImpression } from '../../pipeline/impressions.js';
import type { BehaviorStore } from '../../store/types.js';
import type { TrainingImpression } from '../../trainer/batch.js';
import { type ModelIdentity, writeCheckpoint } from '../../trainer/checkpoint.js';
import { checkpointOf } from '../../trainer/setup.js';
import type { Trainer } from '../../trainer/trainer.js';
import { groupConsumer, releaseClients, ServiceLifecycle } from '../lifecycle.js';
import { type MessageCoordinates, TrainingLedger } from './ledger.js';
import { checkTrainerServiceOptions, type TrainerServiceOptions } from './service-options.js';
import { modelUpdateOf } from './trainer-state.js';

export interface TrainerServiceDeps {
  kafka: Kafka;
  /** Built by the caller, from the checkpoint in `resumedFrom` when there is one. */
  trainer: Trainer;
  /** The train step's static batch: impressions per micro-batch. */
  batchSize: number;
  /** Opened and closed by the caller. */
  store: BehaviorStore;
  /** The encoder (lower layers), for vectors missing from the store; opened and closed by the caller. */
  encode: EncodeTexts;
  checkpointDir: string;
  model: ModelIdentity;
  /** The checkpoint the trainer continues from, if any: its path and its source position. */
  resumedFrom?: { path: string; sourcePosition: unknown } | undefined;
  logger: Logger;
  codec?: EventCodec;
}

/** What one instance did since it started. */
export interface TrainerServiceStats {
  /** Impressions read from the topic and accepted for training. */
  impressionsRead: number;
  /** Messages that arrived although the checkpoint says they were read already (skipped). */
  alreadyRead: number;
  deadLettered: number;
  /** Training steps taken by this instance. */
  steps: number;
  /** Steps and impressions trained in total, across every run of this state folder. */
  totalSteps: number;
  totalSamples: number;
  /** Impressions read but waiting for their micro-batch. */
  pending: number;
  checkpointsWritten: number;
  modelUpdatesPublished: number;
  lastCheckpointPath: string | undefined;
  /** Behavior texts encoded read-through because the store did not hold them in time. */
  encoded: number;
  /** Behaviors missing at first that the encoder service put while the trainer waited for them. */
  arrivedWhileWaiting: number;
  /** Time spent waiting for vectors to appear in the store, in milliseconds. */
  storeWaitMs: number;
}

interface PendingImpression extends MessageCoordinates {
  impression: TrainingImpression;
  refs: BehaviorRef[];
}

export class TrainerService {
  readonly options: TrainerServiceOptions;
  readonly #deps: TrainerServiceDeps;
  readonly #logger: Logger;
  readonly #codec: EventCodec;
  readonly #producer: OrderedProducer;
  readonly #deadLetters: DeadLetterWriter;
  readonly #vectors: BehaviorVectors;
  readonly #identities = new BehaviorIdentityCache();
  readonly #ledger: TrainingLedger;
  readonly #lowWatermarks = new Map<number, number>();
  #pending: PendingImpression[] = [];
  #waitTimer: NodeJS.Timeout | undefined;
  /** Steps, checkpoints and message handling run one at a time, in this order. */
  #queue: Promise<unknown> = Promise.resolve();
  #saved: { step: number; changes: number };
  #fatal: unknown;
  #stopRequested = false;
  #consumer: Consumer | undefined;
  readonly #life: ServiceLifecycle;
  readonly #counts = {
    impressionsRead: 0,
    alreadyRead: 0,
    deadLettered: 0,
    steps: 0,
    checkpointsWritten: 0,
    modelUpdatesPublished: 0,
  };
  #lastCheckpointPath: string | undefined;

  constructor(deps: TrainerServiceDeps, options: Parameters<typeof checkTrainerServiceOptions>[0]) {
    this.options = checkTrainerServiceOptions(options);
    this.#deps = deps;
    this.#logger = deps.logger.child({ component: 'trainer-service', groupId: this.options.groupId });
    this.#codec = deps.codec ?? new EventCodec();
    this.#producer = new OrderedProducer(deps.kafka, this.#logger);
    this.#deadLetters = new DeadLetterWriter({
      producer: this.#producer,
      codec: this.#codec,
      logger: this.#logger,
      ...(this.options.deadLetterTopic === undefined ? {} : { topic: this.options.deadLetterTopic }),
    });
    this.#vectors = new BehaviorVectors(deps.store, deps.encode, {
      encoderBatchSize: this.options.encoderBatchSize,
      encoderMaxWaitMs: this.options.encoderMaxWaitMs,
      storeWaitMs: this.options.storeWaitMs,
    });
    const resumed = deps.resumedFrom;
    this.#ledger = resumed
      ? TrainingLedger.fromCheckpoint(resumed.sourcePosition, this.options.impressionTopic, resumed.path)
      : new TrainingLedger();
    this.#lastCheckpointPath = resumed?.path;
    this.#saved = { step: deps.trainer.step, changes: this.#ledger.changes };
    this.#life = new ServiceLifecycle('trainer service', this.#logger, {
      start: () => this.#start(),
      drain: () => this.#drain(),
      release: () => {
        clearTimeout(this.#waitTimer);
        return releaseClients(this.#logger, {
          consumer: this.#consumer,
          vectors: this.#vectors,
          producer: this.#producer,
        });
      },
      describeFailure: (error) =>
        new BaheError(
          ErrorCode.KAFKA_FAILED,
          `the trainer service failed: ${error instanceof Error ? error.message : String(error)}; ` +
            'start it again: it resumes from its newest checkpoint',
          { cause: error, retryable: true, context: { groupId: this.options.groupId } },
        ),
      onFailure: () => {
        this.#stopRequested = true;
      },
      stats: () => this.stats,
    });
  }

  get stats(): TrainerServiceStats {
    return {
      ...this.#counts,
      totalSteps: this.#deps.trainer.step,
      totalSamples: this.#deps.trainer.samples,
      pending: this.#pending.length,
      lastCheckpointPath: this.#lastCheckpointPath,
      encoded: this.#vectors.stats.encoded,
      arrivedWhileWaiting: this.#vectors.stats.arrivedWhileWaiting,
      storeWaitMs: Math.round(this.#vectors.stats.storeWaitMs),
    };
  }

  /** Creates missing topics (when enabled), announces the checkpoint it resumes, joins the group and consumes. */
  start(): Promise<void> {
    return this.#life.start();
  }

  /** Resolves when the service has stopped; rejects with the failure that ended it otherwise. */
  whenEnded(): Promise<void> {
    return this.#life.whenEnded();
  }

  /**
   * Stops reading, finishes the step in progress, writes a checkpoint (impressions still waiting for
   * their micro-batch are left to the next start), publishes its model update and disconnects.
   */
  stop(): Promise<void> {
    return this.#life.stop('finishing the step in progress');
  }

  async #start(): Promise<void> {
    const { options } = this;
    const topic = options.impressionTopic;
    if (options.createTopics) await this.#createTopics();
    await this.#producer.connect();
    await this.#readLowWatermarks();
    // A crash between a checkpoint and its announcement would lose the announcement: repeat it.
    if (this.#lastCheckpointPath !== undefined) await this.#publish(this.#lastCheckpointPath);

    const consumer = groupConsumer(this.#deps.kafka, options, (error) =>
      this.#life.mayRestart(error, options.maxConsumerRestarts, this.#fatal),
    );
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const owned = payload.memberAssignment[topic] ?? [];
      for (const partition of owned) {
        const offset = this.#ledger.nextOffset(topic, partition) ?? this.#lowWatermarks.get(partition) ?? 0;
        consumer.seek({ topic, partition, offset: String(offset) });
      }
      const data = { assignment: owned, partitions: this.#lowWatermarks.size, memberId: payload.memberId };
      if (owned.length < this.#lowWatermarks.size) {
        this.#logger.warn(data, 'another member of the group owns partitions; run a single trainer instance');
      } else this.#logger.info(data, 'joined the group; partitions sought to the checkpoint');
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) void this.#life.fail(this.#fatal ?? payload.error);
    });

    await withKafkaErrors('connecting the consumer', { groupId: options.groupId }, () => consumer.connect());
    await requireTopics(this.#deps.kafka, [topic], 'impression topic');
    await withKafkaErrors('subscribing', { topic }, () =>
      consumer.subscribe({ topics: [topic], fromBeginning: true }),
    );
    await withKafkaErrors('starting the consumer', { groupId: options.groupId }, () =>
      consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.#onBatch(payload),
      }),
    );
    this.#logger.info(
      {
        topic,
        step: this.#deps.trainer.step,
        samples: this.#deps.trainer.samples,
        batchSize: this.#deps.batchSize,
        batchMaxWaitMs: options.batchMaxWaitMs,
        checkpointEverySteps: options.checkpointEverySteps,
      },
      'trainer service started',
    );
  }

  async #createTopics(): Promise<void> {
    const { options } = this;
    const deadLetterTopic = this.#deadLetters.topicFor(options.impressionTopic);
    // One partition each: model versions and dead letters stay in the order they were written.
    await ensureTopics(
      this.#deps.kafka,
      [options.modelUpdateTopic, deadLetterTopic].map((topic) => ({
        topic,
        partitions: 1,
        replicationFactor: options.replicationFactor,
      })),
      this.#logger,
    );
  }

  async #readLowWatermarks(): Promise<void> {
    const topic = this.options.impressionTopic;
    const admin = this.#deps.kafka.admin();
    await withKafkaErrors('connecting the admin client', { topic }, () => admin.connect());
    try {
      const offsets = await withKafkaErrors('fetching offsets', { topic }, () =>
        admin.fetchTopicOffsets(topic),
      );
      for (const { partition, low } of offsets) this.#lowWatermarks.set(partition, Number(low));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** One fetched batch, message by message; the member heartbeats between them, so long steps are fine. */
  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale() || this.#stopRequested) break;
      await this.#serial(() => this.#accept(batch.topic, batch.partition, message));
      payload.resolveOffset(message.offset);
      await payload.heartbeat();
    }
    this.#life.consumed();
  }

  /** Reads one message into the micro-batch (or the dead-letter topic), training when the batch is full. */
  async #accept(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    if (this.#fatal !== undefined) throw this.#fatal;
    const at: MessageCoordinates = { topic, partition, offset: Number(message.offset) };
    if (this.#ledger.wasRead(at)) {
      this.#counts.alreadyRead += 1;
      return;
    }

    let resolved: ReturnType<typeof resolveImpression>;
    try {
      const event = this.#codec.decodeAs('ImpressionEvent', message.value ?? Buffer.alloc(0));
      resolved = resolveImpression(event, this.#identities);
    } catch (error) {
      if (!isBaheError(error) || error.retryable) throw this.#fatalUnlessKafka(error);
      const record = { topic, partition, offset: message.offset, key: message.key, value: message.value };
      await this.#deadLetters.write(record, error);
      this.#ledger.markDeadLettered(at);
      this.#ledger.markRead(at);
      this.#counts.deadLettered += 1;
      return;
    }

    this.#pending.push({ ...at, impression: resolved.impression, refs: resolved.refs });
    this.#ledger.markRead(at);
    this.#counts.impressionsRead += 1;
    try {
      if (this.#pending.length >= this.#deps.batchSize) await this.#trainPending();
      else this.#armWaitTimer();
    } catch (error) {
      throw this.#fatalUnlessKafka(error);
    }
  }

  #armWaitTimer(): void {
    if (this.#waitTimer !== undefined) return;
    this.#waitTimer = setTimeout(() => {
      this.#waitTimer = undefined;
      if (this.#stopRequested) return;
      this.#serial(() => this.#trainPending()).catch((error: unknown) => void this.#life.fail(error));
    }, this.options.batchMaxWaitMs);
  }

  /** Trains the waiting impressions as one micro-batch (a short one is padded with weight-0 rows). */
  async #trainPending(): Promise<void> {
    clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    const batch = this.#pending.splice(0, this.#deps.batchSize);
    if (batch.length === 0) return;

    const refs = batch.flatMap((entry) => entry.refs);
    await this.#vectors.ensure(refs);
    const lookup = await this.#vectors.vectors(refs.map((ref) => ref.id));
    const report = await this.#deps.trainer.trainMicroBatch(
      batch.map((entry) => entry.impression),
      (id) => lookup.get(id) as Float32Array,
    );
    for (const entry of batch) this.#ledger.markTrained(entry);
    this.#counts.steps += 1;
    this.#logger.debug(
      { ...report, partitionsInBatch: new Set(batch.map((e) => e.partition)).size },
      'training step',
    );

    if (this.#pending.length > 0) this.#armWaitTimer();
    if (report.step % this.options.checkpointEverySteps === 0) await this.#checkpoint();
  }

  /** Writes a checkpoint when anything changed since the last one, then announces it. */
  async #checkpoint(): Promise<void> {
    const trainer = this.#deps.trainer;
    if (this.#saved.step === trainer.step && this.#saved.changes === this.#ledger.changes) return;
    const position = this.#ledger.toPosition(this.#pending);
    const written = await writeCheckpoint(
      this.#deps.checkpointDir,
      checkpointOf(this.#deps.model, trainer.snapshot(), position),
      { keep: this.options.keepCheckpoints, logger: this.#logger },
    );
    this.#saved = { step: trainer.step, changes: this.#ledger.changes };
    this.#lastCheckpointPath = written.path;
    this.#counts.checkpointsWritten += 1;
    // A lost announcement is repeated on the next start, so a failed one ends the service.
    await this.#publish(written.path).catch((error: unknown) => {
      this.#fatal ??= error;
      throw error;
    });
    await this.#commitForLagTools(position.next[this.options.impressionTopic] ?? {});
  }

  async #publish(location: string): Promise<void> {
    const update = modelUpdateOf(this.#deps.model, this.#deps.trainer, location);
    await this.#producer.send(this.options.modelUpdateTopic, [
      { key: this.#deps.model.modelName, value: this.#codec.encode('ModelUpdateEvent', update) },
    ]);
    this.#counts.modelUpdatesPublished += 1;
    this.#logger.info(
      { version: update.version, metrics: update.metrics, location },
      'model update published',
    );
  }

  // Only informative (lag tools read them); a failed commit costs nothing, the checkpoint is the truth.
  async #commitForLagTools(next: Record<string, number>): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined || this.#life.state !== 'running') return;
    const topic = this.options.impressionTopic;
    const offsets = Object.entries(next).map(([partition, offset]) => ({
      topic,
      partition: Number(partition),
      offset: String(offset),
    }));
    await consumer
      .commitOffsets(offsets)
      .catch((error: unknown) => this.#logger.debug({ err: error }, 'informative offset commit failed'));
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** A Kafka failure may be retried by restarting the consumer; anything else (training, files) ends the service. */
  #fatalUnlessKafka(error: unknown): unknown {
    if (!isBaheError(error, ErrorCode.KAFKA_FAILED)) this.#fatal ??= error;
    return error;
  }

  /** Stops reading, finishes the step in progress and writes the final checkpoint. */
  async #drain(): Promise<void> {
    this.#stopRequested = true;
    clearTimeout(this.#waitTimer);
    // kafkajs' stop waits for the batch in flight, which ends after its current message.
    await this.#consumer
      ?.stop()
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'consumer stop failed'));
    await this.#serial(() => this.#checkpoint());
  }
}
