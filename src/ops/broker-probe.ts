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

/** The shortest time a check is given by default. */
const MIN_CHECK_TIMEOUT_MS = 10_000;

export interface BrokerProbeOptions {
  /** Time between the end of one check and the start of the next. */
  intervalMs: number;
  /**
   * How long one check may take before the broker counts as unreachable: kafkajs retries a lost
   * connection with its own growing backoff, so a check against a broker that is gone may not end
   * for minutes. Twice the interval by default, and at least 10 s: a busy machine can take a
   * while to answer even when the broker is there.
   */
  timeoutMs?: number;
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
  /** Counts checks, so that one that outlived its timeout cannot overwrite a newer result. */
  #generation = 0;
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

  /** One check; never throws: a failure, or no answer within the timeout, is recorded as the state. */
  async check(): Promise<BrokerState> {
    const timeoutMs = this.#options.timeoutMs ?? Math.max(2 * this.#options.intervalMs, MIN_CHECK_TIMEOUT_MS);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed out'>((resolve) => {
      timer = setTimeout(() => resolve('timed out'), timeoutMs);
    });
    this.#generation += 1;
    const checking = this.#checkOnce(this.#generation);
    const outcome = await Promise.race([checking, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timed out') {
      this.#record({
        reachable: false,
        reason: `the broker did not answer within ${timeoutMs} ms`,
        checkedAtMs: Date.now(),
      });
      // The next check starts a fresh client. The stuck one is closed once its connection attempt
      // ends: closed earlier, a connection it makes later would stay open and keep the process alive.
      const stuck = this.#admin;
      this.#admin = undefined;
      void checking.finally(() => stuck?.disconnect().catch(() => undefined));
    }
    return this.#state;
  }

  /** A check that ends after its timeout has been replaced (`generation` is stale): it records nothing. */
  async #checkOnce(generation: number): Promise<void> {
    // No retries here: the next check is the retry, and a check must not outlast its interval.
    this.#admin ??= this.#kafka.admin({ retry: { retries: 0 } });
    const admin = this.#admin;
    const current = () => generation === this.#generation;
    try {
      await withKafkaErrors('connecting the admin client', {}, () => admin.connect());
      await withKafkaErrors('describing the cluster', {}, () => admin.describeCluster());
      if (current()) this.#record({ reachable: true, reason: undefined, checkedAtMs: Date.now() });
      for (const { groupId, topics } of this.#options.lag) {
        const lag = await consumerLagWith(admin, groupId, topics);
        if (!current()) return;
        for (const [topic, behind] of lag) this.#options.lagGauge?.set({ group: groupId, topic }, behind);
      }
    } catch (error) {
      if (!current()) return;
      const reason = error instanceof Error ? error.message : String(error);
      this.#record({ reachable: false, reason, checkedAtMs: Date.now() });
      if (this.#admin === admin) this.#admin = undefined;
      await admin.disconnect().catch(() => undefined);
    }
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
