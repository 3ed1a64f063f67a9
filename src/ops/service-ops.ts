/**
 * What a long-running command adds for its operators: the ops server, the metrics every service
 * shares (store and encoder timings, consumer lag, readiness), and the readiness conditions
 * (broker reachable, store open, model loaded). A disabled instance (port 0) keeps the same
 * interface and only skips the server, so callers never branch on it.
 */
import type { Kafka } from '../kafka/client.js';
import { type Logger, silentLogger } from '../log.js';
import type { EncodeTexts } from '../pipeline/behavior-vectors.js';
import type { BehaviorStore } from '../store/types.js';
import { BrokerProbe, type LagTarget } from './broker-probe.js';
import { type Gauge, type Histogram, MetricsRegistry } from './metrics.js';
import type { OpsCliOptions } from './options.js';
import { OpsServer } from './server.js';
import { TimedStore, timedEncode } from './timed.js';

/** Texts per encoder call: powers of two up to the largest batch the options allow. */
const ENCODER_BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

export interface ServiceOpsSettings {
  /** The command, as the `service` label of `bahe_info`. */
  service: string;
  /** Broker checks: time between two (default 5 s). */
  brokerCheckIntervalMs?: number;
}

export class ServiceOps {
  readonly registry: MetricsRegistry;
  readonly #server: OpsServer | undefined;
  readonly #logger: Logger;
  readonly #settings: ServiceOpsSettings;
  readonly #info: Gauge;
  readonly #storeLatency: Histogram;
  readonly #encoderBatch: Histogram;
  readonly #encoderLatency: Histogram;
  readonly #lag: Gauge;
  readonly #probes: BrokerProbe[] = [];
  readonly #startedAt = performance.now();
  #modelReadiness: () => boolean | string = () => 'model not loaded yet';

  private constructor(
    registry: MetricsRegistry,
    server: OpsServer | undefined,
    settings: ServiceOpsSettings,
    logger: Logger,
  ) {
    this.registry = registry;
    this.#server = server;
    server?.addReadiness({ name: 'model', check: () => this.#modelReadiness() });
    this.#settings = settings;
    this.#logger = logger;
    const r = this.registry;
    this.#info = r.gauge('bahe_info', 'Always 1; the labels name the service, model and encoder version.', [
      'service',
      'model',
      'encoder_version',
    ]);
    const uptime = r.gauge('bahe_uptime_seconds', 'Seconds since the service started.');
    const ready = r.gauge('bahe_ready', '1 when the readiness condition holds, else 0.', ['check']);
    this.#lag = r.gauge(
      'bahe_consumer_lag_messages',
      "Messages of the topic not yet committed by the service's consumer group (as of the last broker check).",
      ['group', 'topic'],
    );
    this.#storeLatency = r.histogram('bahe_store_latency_seconds', 'Seconds per embedding store call.', [
      'operation',
    ]);
    this.#encoderBatch = r.histogram(
      'bahe_encoder_batch_size',
      'Behavior texts per encoder (lower layers) call.',
      [],
      ENCODER_BATCH_BUCKETS,
    );
    this.#encoderLatency = r.histogram('bahe_encoder_latency_seconds', 'Seconds per encoder call.');
    r.onCollect(async () => {
      uptime.set({}, (performance.now() - this.#startedAt) / 1000);
      if (this.#server === undefined) return;
      const report = await this.#server.readiness();
      for (const [check, { ready: ok }] of Object.entries(report.checks)) ready.set({ check }, ok ? 1 : 0);
    });
  }

  /** Starts the ops server on `options` (none when the port is 0) with its readiness checks unset. */
  static async start(
    options: OpsCliOptions,
    settings: ServiceOpsSettings,
    logger: Logger,
  ): Promise<ServiceOps> {
    if (options.opsPort === 0) return ServiceOps.disabled(settings, logger);
    const registry = new MetricsRegistry();
    const server = new OpsServer({ host: options.opsHost, port: options.opsPort, registry, logger });
    const ops = new ServiceOps(registry, server, settings, logger);
    await server.start();
    return ops;
  }

  /** An instance without a server: the wrappers still work, nothing is served. */
  static disabled(settings: ServiceOpsSettings = { service: 'bahe' }, logger?: Logger): ServiceOps {
    return new ServiceOps(new MetricsRegistry(), undefined, settings, logger ?? silentLogger());
  }

  /** The HTTP server, for commands that add routes (the scorer); undefined when disabled. */
  get server(): OpsServer | undefined {
    return this.#server;
  }

  /** `store` with every call timed into `bahe_store_latency_seconds`. */
  timeStore(store: BehaviorStore): BehaviorStore {
    return new TimedStore(store, this.#storeLatency);
  }

  /** `encode` with batch sizes and latencies recorded. */
  timeEncode(encode: EncodeTexts): EncodeTexts {
    return timedEncode(encode, this.#encoderBatch, this.#encoderLatency);
  }

  /**
   * `bahe_info` names the model; readiness `model` holds from now on, or while `ready` says so (the
   * scorer: while it has a model version to serve).
   */
  modelLoaded(model: { name: string; encoderVersion: string }, ready?: () => boolean | string): void {
    this.#modelReadiness = ready ?? (() => true);
    this.#info.set(
      { service: this.#settings.service, model: model.name, encoder_version: model.encoderVersion },
      1,
    );
  }

  /** Readiness `broker`, checked in the background, and the consumer lag of `lag`'s groups. */
  watchBroker(kafka: Kafka, lag: readonly LagTarget[] = []): void {
    if (this.#server === undefined) return;
    const probe = new BrokerProbe(kafka, {
      intervalMs: this.#settings.brokerCheckIntervalMs ?? 5_000,
      lag,
      logger: this.#logger,
      lagGauge: this.#lag,
    });
    this.#probes.push(probe);
    probe.start();
    this.#server.addReadiness({
      name: 'broker',
      check: () => probe.state.reachable || `broker unreachable: ${probe.state.reason}`,
    });
  }

  /** Readiness `store`: the store answers a count. */
  watchStore(store: BehaviorStore): void {
    this.#server?.addReadiness({
      name: 'store',
      check: async () => {
        await store.count();
        return true;
      },
    });
  }

  /** Adds a readiness condition of the service's own. */
  addReadiness(name: string, check: () => boolean | string | Promise<boolean | string>): void {
    this.#server?.addReadiness({ name, check });
  }

  async stop(): Promise<void> {
    for (const probe of this.#probes) await probe.stop();
    await this.#server?.stop();
  }
}
