/**
 * Where the scorer learns of new model versions: model-update events on Kafka, or, without Kafka, a
 * new checkpoint file appearing in a watched folder. Both hand a load request to `ModelVersions`.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { EventCodec } from '../events/codec.js';
import type { Kafka } from '../kafka/client.js';
import { withKafkaErrors } from '../kafka/errors.js';
import { requireTopics } from '../kafka/topics.js';
import type { Logger } from '../log.js';
import { checkpointFiles } from '../trainer/checkpoint.js';
import type { ModelVersions } from './model-versions.js';

export interface UpdateSource {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Polls `dir` for a newer checkpoint file. Polling rather than file-system events: the trainer
 * writes by rename, which some platforms and network mounts report late or not at all.
 */
export class CheckpointFolderWatch implements UpdateSource {
  readonly #dir: string;
  readonly #versions: ModelVersions;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #newest: string | undefined;

  constructor(dir: string, versions: ModelVersions, intervalMs: number, logger: Logger) {
    this.#dir = dir;
    this.#versions = versions;
    this.#intervalMs = intervalMs;
    this.#logger = logger.child({ component: 'checkpoint-watch', dir });
  }

  /** Loads the newest checkpoint there is now, then keeps watching. */
  async start(): Promise<void> {
    await this.#poll();
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #poll(): Promise<void> {
    try {
      const [newest] = await checkpointFiles(this.#dir);
      if (newest === undefined || newest === this.#newest) return;
      this.#newest = newest;
      await this.#versions.request({ location: newest, source: 'folder' });
    } catch (error) {
      this.#logger.warn({ err: error }, 'checkpoint folder not readable; retrying');
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#poll().then(() => this.#schedule()), this.#intervalMs);
    this.#timer.unref();
  }
}

export interface ModelUpdateConsumerOptions {
  topic: string;
  /** Prefix of the consumer group; each scorer gets its own group so that every one sees every update. */
  groupPrefix: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

/**
 * Reads the model-update topic from its start in a group of its own, so every scorer instance sees
 * every update; older or repeated versions are skipped by `ModelVersions`. Unreadable events are
 * logged and skipped: they carry no training data, and the next update supersedes them.
 */
export class ModelUpdateConsumer implements UpdateSource {
  readonly #kafka: Kafka;
  readonly #versions: ModelVersions;
  readonly #options: ModelUpdateConsumerOptions;
  readonly #logger: Logger;
  readonly #codec = new EventCodec();
  readonly #groupId: string;
  #consumer: Consumer | undefined;

  constructor(kafka: Kafka, versions: ModelVersions, options: ModelUpdateConsumerOptions, logger: Logger) {
    this.#kafka = kafka;
    this.#versions = versions;
    this.#options = options;
    this.#groupId = `${options.groupPrefix}-${randomUUID()}`;
    this.#logger = logger.child({ component: 'model-updates', topic: options.topic, groupId: this.#groupId });
  }

  async start(): Promise<void> {
    const { topic } = this.#options;
    const consumer = this.#kafka.consumer({
      groupId: this.#groupId,
      sessionTimeout: this.#options.sessionTimeoutMs,
      heartbeatInterval: this.#options.heartbeatIntervalMs,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    await requireTopics(this.#kafka, [topic], 'model-update topic');
    await withKafkaErrors('connecting the model-update consumer', { topic }, () => consumer.connect());
    await withKafkaErrors('subscribing', { topic }, () =>
      consumer.subscribe({ topics: [topic], fromBeginning: true }),
    );
    await withKafkaErrors('starting the model-update consumer', { topic }, () =>
      consumer.run({
        eachBatch: async ({ batch }) => {
          // Only the newest update of a batch matters; the versions object skips older steps anyway.
          let newest: { location: string; step: number } | undefined;
          for (const message of batch.messages) {
            try {
              const update = this.#codec.decodeAs('ModelUpdateEvent', message.value ?? Buffer.alloc(0));
              if (newest === undefined || update.step >= newest.step) newest = update;
            } catch (error) {
              this.#logger.warn(
                { err: error, offset: message.offset },
                'unreadable model-update event skipped',
              );
            }
          }
          if (newest !== undefined) void this.#versions.request({ ...newest, source: 'kafka' });
        },
      }),
    );
    this.#logger.info('reading model updates');
  }

  async stop(): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    this.#consumer = undefined;
    await consumer
      .disconnect()
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'disconnect failed'));
    // The group was this instance's alone; leaving it behind would only clutter the broker.
    const admin = this.#kafka.admin({ retry: { retries: 0 } });
    await admin
      .connect()
      .then(() => admin.deleteGroups([this.#groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
}
