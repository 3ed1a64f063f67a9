/**
 * The life of a Kafka service, shared by the encoder and the trainer: start once, stop gracefully
 * once, fail once, and end with a promise that says which; plus the consumer settings and the
 * release of the Kafka clients they have in common.
 */
import type { Consumer, ConsumerConfig } from 'kafkajs';
import { BaheError } from '../errors.js';
import type { Kafka } from '../kafka/client.js';
import { kafkaFailed } from '../kafka/errors.js';
import type { Logger } from '../log.js';
import type { ConsumerGroupOptions } from './consumer-options.js';

export type ServiceState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface LifecycleSteps {
  /** Connects, joins the group and starts consuming. */
  start(): Promise<void>;
  /** The graceful part of a stop, before the clients are released (a final checkpoint, say). */
  drain?(): Promise<void>;
  /** Releases the consumer, producer and other clients; logs its own failures, never throws. */
  release(): Promise<void>;
  /** What an operator reads when a failure that is not already a BaheError ends the service. */
  describeFailure(error: unknown): BaheError;
  /** Called once when the service fails, before its clients are released. */
  onFailure?(): void;
  stats(): unknown;
}

export class ServiceLifecycle {
  #state: ServiceState = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #restarts = 0;
  readonly #ended: Promise<void>;
  #end!: (error?: unknown) => void;

  /** `name` as the logs say it, e.g. "encoder service". */
  constructor(
    readonly name: string,
    private readonly logger: Logger,
    private readonly steps: LifecycleSteps,
  ) {
    this.#ended = new Promise<void>((resolve, reject) => {
      this.#end = (error?: unknown) => (error === undefined ? resolve() : reject(error));
    });
    // Marks the rejection as handled; callers see it through `whenEnded()`.
    this.#ended.catch(() => undefined);
  }

  get state(): ServiceState {
    return this.#state;
  }

  /** Runs the start step once; a failure releases the clients and ends the service with it. */
  start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`the ${this.name} was already started (state ${this.#state})`);
    this.#state = 'starting';
    this.#starting = this.steps.start().then(
      () => {
        this.#state = 'running';
      },
      async (error: unknown) => {
        await this.steps.release();
        this.#state = 'failed';
        this.#end(error);
        throw error;
      },
    );
    return this.#starting;
  }

  /** Resolves when the service has stopped; rejects with the failure that ended it otherwise. */
  whenEnded(): Promise<void> {
    return this.#ended;
  }

  /** Drains, releases the clients and ends the service; every call returns the same promise. */
  stop(stopping: string): Promise<void> {
    this.#stopping ??= this.#stop(stopping);
    return this.#stopping;
  }

  /** Ends the service with `error` unless it is already stopping or ended. */
  async fail(error: unknown): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'failed') return;
    this.#state = 'failed';
    this.steps.onFailure?.();
    const failure = error instanceof BaheError ? error : this.steps.describeFailure(error);
    this.logger.error({ err: failure, stats: this.steps.stats() }, `${this.name} failed`);
    await this.steps.release();
    this.#end(failure);
  }

  /**
   * The consumer's `restartOnFailure`: true while restarts are left, the service runs and no
   * `fatal` error (one a restart cannot cure) has happened.
   */
  mayRestart(error: Error, maxRestarts: number, fatal?: unknown): boolean {
    this.#restarts += 1;
    const restart = fatal === undefined && this.#restarts <= maxRestarts && this.#state === 'running';
    const data = {
      err: fatal ?? kafkaFailed('consuming', error),
      restarts: this.#restarts,
      maxConsumerRestarts: maxRestarts,
    };
    if (restart) this.logger.warn(data, 'consumer failed after its retries; restarting it');
    else this.logger.error(data, `consumer failed and will not be restarted; the ${this.name} stops`);
    return restart;
  }

  /** A batch went through: the consumer's failures so far are behind it. */
  consumed(): void {
    this.#restarts = 0;
  }

  async #stop(stopping: string): Promise<void> {
    await this.#starting?.catch(() => undefined);
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.logger.info(`${this.name} stopping: ${stopping}`);
    try {
      await this.steps.drain?.();
    } catch (error) {
      await this.steps.release();
      this.#state = 'failed';
      this.#end(error);
      return;
    }
    await this.steps.release();
    this.#state = 'stopped';
    this.logger.info({ stats: this.steps.stats() }, `${this.name} stopped`);
    this.#end();
  }
}

/** A consumer of the service's group with the shared settings; topics are never auto-created. */
export function groupConsumer(
  kafka: Kafka,
  options: ConsumerGroupOptions,
  restartOnFailure: (error: Error) => boolean,
): Consumer {
  const config: ConsumerConfig = {
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: options.heartbeatIntervalMs,
    maxWaitTimeInMs: options.fetchMaxWaitMs,
    allowAutoTopicCreation: false,
    retry: { restartOnFailure: async (error) => restartOnFailure(error) },
  };
  return kafka.consumer(config);
}

/**
 * Stops and disconnects the consumer (kafkajs' stop waits for the batches in flight), drains the
 * encoder, then disconnects the producer, which those batches may still use. Failures are logged.
 */
export async function releaseClients(
  logger: Logger,
  clients: {
    consumer: Consumer | undefined;
    vectors: { close(): Promise<void> };
    producer: { disconnect(): Promise<void> };
  },
): Promise<void> {
  const warn = (what: string) => (error: unknown) => logger.warn({ err: error }, `${what} failed`);
  if (clients.consumer !== undefined) {
    await clients.consumer.stop().catch(warn('consumer stop'));
    await clients.consumer.disconnect().catch(warn('consumer disconnect'));
  }
  await clients.vectors.close().catch(warn('encoding drain'));
  await clients.producer.disconnect().catch(warn('producer disconnect'));
}
