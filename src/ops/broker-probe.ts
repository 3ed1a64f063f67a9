/**
 * Checks the broker in the background (cluster metadata, then the consumer lag of the groups it is
 * told about), so that `/readyz` and `/metrics` answer at once from the last result instead of
 * waiting on a broker that may be gone.
 */
import type { Admin } from 'kafkajs';
import type { Kafka } from '../kafka/client.js';
import { withKafkaErrors } from '../kafka/errors.js';
import type { Logger } from '../log.js';
import { consumerLagWith } from '../services/encoder/lag.js';
import type { Gauge } from './metrics.js';

export interface LagTarget {
  groupId: string;
  /** Topics the group reads, upstream first. */
  topics: readonly string[];
}

export interface BrokerProbeOptions {
  /** Time between the end of one check and the start of the next. */
  intervalMs: number;
  lag: readonly LagTarget[];
  logger: Logger;
  /** Receives `{group, topic}` series of messages not yet committed. */
  lagGauge?: Gauge;
}

export interface BrokerState {
  reachable: boolean;
  /** Why the last check failed; undefined while reachable. */
  reason: string | undefined;
  checkedAtMs: number | undefined;
}

export class BrokerProbe {
  readonly #kafka: Kafka;
  readonly #options: BrokerProbeOptions;
  readonly #logger: Logger;
  #admin: Admin | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #state: BrokerState = { reachable: false, reason: 'not checked yet', checkedAtMs: undefined };

  constructor(kafka: Kafka, options: BrokerProbeOptions) {
    this.#kafka = kafka;
    this.#options = options;
    this.#logger = options.logger.child({ component: 'broker-probe' });
  }

  get state(): BrokerState {
    return this.#state;
  }

  /** Checks now, then every interval, until stopped. */
  start(): void {
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#admin?.disconnect().catch(() => undefined);
    this.#admin = undefined;
  }

  /** One check; never throws: a failure is recorded as the state. */
  async check(): Promise<BrokerState> {
    try {
      // No retries here: the next check is the retry, and a check must not outlast its interval.
      this.#admin ??= this.#kafka.admin({ retry: { retries: 0 } });
      const admin = this.#admin;
      await withKafkaErrors('connecting the admin client', {}, () => admin.connect());
      await withKafkaErrors('describing the cluster', {}, () => admin.describeCluster());
      this.#record({ reachable: true, reason: undefined, checkedAtMs: Date.now() });
      for (const { groupId, topics } of this.#options.lag) {
        const lag = await consumerLagWith(admin, groupId, topics);
        for (const [topic, behind] of lag) this.#options.lagGauge?.set({ group: groupId, topic }, behind);
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#record({ reachable: false, reason, checkedAtMs: Date.now() });
      await this.#admin?.disconnect().catch(() => undefined);
      this.#admin = undefined;
    }
    return this.#state;
  }

  #record(next: BrokerState): void {
    if (next.reachable !== this.#state.reachable) {
      if (next.reachable) this.#logger.info('broker reachable');
      else this.#logger.warn({ reason: next.reason }, 'broker unreachable; not ready');
    }
    this.#state = next;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.check().then(() => this.#schedule(this.#options.intervalMs));
    }, delayMs);
    this.#timer.unref();
  }
}
