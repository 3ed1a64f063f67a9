/**
 * The metrics of the encoder and trainer services, read from their stats objects at scrape time,
 * and the model-version metrics the trainer and the scorer share.
 */
import { stat } from 'node:fs/promises';
import type { Kafka } from '../kafka/client.js';
import type { EncoderService } from '../services/encoder/service.js';
import type { TrainerService } from '../services/trainer/service.js';
import { modelVersion } from '../services/trainer/trainer-state.js';
import type { BehaviorStore } from '../store/types.js';
import type { ModelIdentity } from '../trainer/checkpoint.js';
import type { RunningMetrics } from '../trainer/metrics.js';
import type { Trainer } from '../trainer/trainer.js';
import type { MetricsRegistry } from './metrics.js';
import type { ServiceOps } from './service-ops.js';

/** Events per second between two scrapes (since the start for the first). */
export class RateTracker {
  #last: { total: number; atMs: number };

  constructor(nowMs = performance.now()) {
    this.#last = { total: 0, atMs: nowMs };
  }

  rate(total: number, nowMs = performance.now()): number {
    const seconds = (nowMs - this.#last.atMs) / 1000;
    if (seconds <= 0) return 0;
    const rate = Math.max(0, total - this.#last.total) / seconds;
    this.#last = { total, atMs: nowMs };
    return rate;
  }
}

/** `bahe_events_total{kind}` and `bahe_events_per_second` over the kinds `totals()` returns. */
function eventMetrics(registry: MetricsRegistry, totals: () => Record<string, number>): void {
  const events = registry.counter('bahe_events_total', 'Messages consumed, by kind.', ['kind']);
  const perSecond = registry.gauge(
    'bahe_events_per_second',
    'Messages consumed per second since the previous scrape, all kinds together.',
  );
  const rate = new RateTracker();
  registry.onCollect(() => {
    const counts = totals();
    for (const [kind, total] of Object.entries(counts)) events.set({ kind }, total);
    perSecond.set({}, rate.rate(Object.values(counts).reduce((a, b) => a + b, 0)));
  });
}

/** The encoder service's counts. */
export function registerEncoderMetrics(registry: MetricsRegistry, service: EncoderService): void {
  eventMetrics(registry, () => {
    const s = service.stats;
    return { event: s.eventsRouted, behavior_ref: s.refsRead, dead_lettered: s.deadLettered };
  });
  const encoded = registry.counter(
    'bahe_behaviors_encoded_total',
    'Behavior texts run through the encoder (lower layers) by this process.',
  );
  const stored = registry.counter(
    'bahe_behaviors_already_stored_total',
    'Admitted behaviors found already stored, so not encoded.',
  );
  const joins = registry.counter(
    'bahe_group_joins_total',
    'Times this member joined its consumer group; a count that keeps rising means repeated rebalances.',
  );
  registry.onCollect(() => {
    encoded.set({}, service.stats.encoded);
    stored.set({}, service.stats.alreadyStored);
    joins.set({}, service.stats.groupJoins);
  });
}

export interface TrainerMetricsSubject {
  service: TrainerService;
  trainer: Trainer;
  model: ModelIdentity;
}

/** The trainer service's counts, its latest loss, the running metrics and its checkpoints. */
export function registerTrainerMetrics(registry: MetricsRegistry, subject: TrainerMetricsSubject): void {
  const { service, trainer, model } = subject;
  eventMetrics(registry, () => {
    const s = service.stats;
    return { impression: s.impressionsRead, dead_lettered: s.deadLettered, already_read: s.alreadyRead };
  });
  const steps = registry.counter(
    'bahe_training_steps_total',
    'Training steps taken, across every run of the state folder.',
  );
  const samples = registry.counter('bahe_training_samples_total', 'Impressions trained, across every run.');
  const loss = registry.gauge('bahe_training_loss', 'Loss of the latest training step (weighted mean BCE).');
  const pending = registry.gauge('bahe_pending_impressions', 'Impressions waiting for their micro-batch.');
  const written = registry.counter('bahe_checkpoints_written_total', 'Checkpoints written by this process.');
  const running = runningMetricGauges(registry);
  const version = modelVersionMetrics(registry);
  registry.onCollect(async () => {
    const s = service.stats;
    steps.set({}, s.totalSteps);
    samples.set({}, s.totalSamples);
    pending.set({}, s.pending);
    written.set({}, s.checkpointsWritten);
    const last = trainer.lastStep;
    if (last !== undefined) loss.set({}, last.loss);
    running('bahe', trainer.metrics);
    running('baseline', trainer.baselineMetrics);
    // The version the newest checkpoint holds: what readers of the model-update topic can load.
    const checkpointStep =
      s.lastCheckpointPath === undefined ? undefined : stepOfCheckpoint(s.lastCheckpointPath);
    await version.set(model, checkpointStep, s.lastCheckpointPath);
  });
}

/** `bahe_running_auc{model}` and `bahe_running_log_loss{model}`; the AUC is recomputed only when new scores came. */
function runningMetricGauges(registry: MetricsRegistry): (name: string, metrics: RunningMetrics) => void {
  const auc = registry.gauge(
    'bahe_running_auc',
    'Test-then-train AUC over every impression scored so far (model: bahe or the non-text baseline).',
    ['model'],
  );
  const logLoss = registry.gauge('bahe_running_log_loss', 'Test-then-train log-loss so far.', ['model']);
  const counted = new Map<string, number>();
  return (name, metrics) => {
    if (metrics.count === 0 || counted.get(name) === metrics.count) return;
    counted.set(name, metrics.count);
    auc.set({ model: name }, metrics.auc());
    logLoss.set({ model: name }, metrics.logLoss);
  };
}

export interface ModelVersionMetrics {
  /** Records the version `step` of `model`, held by the checkpoint at `path` (for its age). */
  set(model: ModelIdentity, step: number | undefined, path: string | undefined): Promise<void>;
}

/** `bahe_model_version_step`, `bahe_model_version_info{version}` and `bahe_checkpoint_age_seconds`. */
export function modelVersionMetrics(registry: MetricsRegistry): ModelVersionMetrics {
  const step = registry.gauge('bahe_model_version_step', 'Training step of the current model version.');
  const info = registry.gauge(
    'bahe_model_version_info',
    'Always 1; the label names the current model version.',
    ['version'],
  );
  const age = registry.gauge(
    'bahe_checkpoint_age_seconds',
    'Seconds since the checkpoint of the current model version was written.',
  );
  return {
    async set(model, at, path) {
      if (at === undefined) return;
      step.set({}, at);
      info.reset();
      info.set({ version: modelVersion(model, at) }, 1);
      if (path === undefined) return;
      const file = await stat(path).catch(() => undefined);
      if (file !== undefined) age.set({}, Math.max(0, (Date.now() - file.mtimeMs) / 1000));
    },
  };
}

/** The step in a checkpoint file name (`checkpoint-<sequence>-step-<step>.ckpt`). */
function stepOfCheckpoint(path: string): number | undefined {
  const match = /-step-(\d+)\.ckpt$/.exec(path);
  return match === null ? undefined : Number(match[1]);
}

interface WatchedParts {
  kafka: Kafka;
  store: BehaviorStore;
}

/** Readiness (broker, store, model), lag of the service's group and the encoder service's metrics. */
export function watchEncoder(
  ops: ServiceOps,
  service: EncoderService,
  parts: WatchedParts & { model: { name: string; encoderVersion: string } },
): void {
  const { groupId, behaviorTopic, impressionTopic, refsTopic } = service.options;
  registerEncoderMetrics(ops.registry, service);
  ops.watchBroker(parts.kafka, [{ groupId, topics: [behaviorTopic, impressionTopic, refsTopic] }]);
  ops.watchStore(parts.store);
  ops.modelLoaded(parts.model);
}

/** Readiness (broker, store, model), lag of the service's group and the trainer service's metrics. */
export function watchTrainer(
  ops: ServiceOps,
  subject: TrainerMetricsSubject & WatchedParts & { manifest: { name: string; encoderVersion: string } },
): void {
  const { groupId, impressionTopic } = subject.service.options;
  registerTrainerMetrics(ops.registry, subject);
  ops.watchBroker(subject.kafka, [{ groupId, topics: [impressionTopic] }]);
  ops.watchStore(subject.store);
  ops.modelLoaded(subject.manifest);
}
