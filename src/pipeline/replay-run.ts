/**
 * The main job on its embedded defaults: replay MovieLens-100K in time order through behavior
 * identity, the seen-set, the encoder, the embedded store and the micro-batch trainer, checkpointing
 * as it goes so that a second run resumes where the first stopped.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { BehaviorIdentityCache } from '../behavior/identity-cache.js';
import { OnnxEncoder } from '../encoder/onnx-encoder.js';
import { type ExecutionProvider, openSession } from '../encoder/ort-session.js';
import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { loadModel } from '../model/load.js';
import { SHARED_DATA_DIR } from '../paths.js';
import { openMovieLens100k } from '../sources/movielens.js';
import { openStore } from '../store/select.js';
import { batchShapeOf, type TrainingImpression } from '../trainer/batch.js';
import { readLatestCheckpoint, writeCheckpoint } from '../trainer/checkpoint.js';
import { checkpointOf, modelIdentity, snapshotOf, trainerSettingsFor } from '../trainer/setup.js';
import { TrainStepGraph } from '../trainer/train-step.js';
import { Trainer } from '../trainer/trainer.js';
import { acquireLock } from '../util/lock.js';
import { type BehaviorRef, BehaviorVectors } from './behavior-vectors.js';
import { behaviorRefOf, resolveImpression } from './impressions.js';
import { Progress } from './progress.js';
import type { RunOptions } from './run-options.js';

/** What `bahe run` reports at the end. */
export interface RunSummary {
  eventsRead: number;
  behaviorEvents: number;
  impressions: number;
  rejectedEvents: number;
  behaviorOccurrences: number;
  uniqueBehaviors: number;
  alreadyStored: number;
  encoderCalls: number;
  encoderBatches: number;
  /** Behavior occurrences per unique behavior: how often each encoding is reused. */
  dedupeRatio: number;
  storedBehaviors: number;
  trainingSteps: number;
  totalSteps: number;
  totalSamples: number;
  /** Impressions trained per second of training-step time. */
  trainSamplesPerS: number;
  /** Impressions per second of the whole run, encoding and I/O included. */
  endToEndSamplesPerS: number;
  runningAuc: number;
  runningLogLoss: number;
  baselineAuc: number;
  baselineLogLoss: number;
  /** AUC of this run's impressions only, for BAHE and the baseline. */
  runAuc: number;
  runBaselineAuc: number;
  checkpointPath: string | undefined;
  resumedFromStep: number;
  streamPosition: number;
  streamTotal: number;
  streamFinished: boolean;
  elapsedS: number;
}

interface ReplayPosition {
  /** Index of the next event to process. */
  event: number;
  /** Fingerprint of the data the index refers to. */
  dataset: string;
}

const STATE_LOCK_FILE = 'LOCK';
const STATE_LOCK_SUBJECT = {
  what: 'state folder',
  code: ErrorCode.STATE_IN_USE,
  alternative: 'give this run another --state-dir',
};

/** The shared dataset folder next to the repository, used when present and no folder is given. */
const SHARED_MOVIELENS = path.join(SHARED_DATA_DIR, 'movielens-100k');

export async function runReplay(
  options: RunOptions,
  logger: Logger,
  signal?: AbortSignal,
): Promise<RunSummary> {
  const started = performance.now();
  const model = await loadModel(options.model);
  const { manifest } = model;
  const log = logger.child({ model: manifest.name });

  const sessionOptions = {
    executionProviders: [options.provider as ExecutionProvider],
    intraOpThreads: options.threads,
  };
  const closers: Array<() => Promise<void>> = [];
  try {
    // Everything that can fail on the model or the provider is opened before anything is written.
    const encoder = await OnnxEncoder.fromModel(model, sessionOptions);
    closers.push(() => encoder.close());
    const graph = new TrainStepGraph(
      await openSession(model.files.trainStep, sessionOptions),
      manifest.parameters.entries,
      batchShapeOf(manifest),
    );
    closers.push(() => graph.close());

    await mkdir(options.stateDir, { recursive: true });
    const stateLock = await acquireLock(
      path.join(options.stateDir, STATE_LOCK_FILE),
      log,
      STATE_LOCK_SUBJECT,
    );
    closers.push(() => stateLock.release());

    const checkpointDir = path.join(options.stateDir, 'checkpoints');
    const identity = modelIdentity(model);
    const latest = await readLatestCheckpoint(checkpointDir, { expectedModel: identity, logger: log });
    const trainer = new Trainer(
      trainerSettingsFor(model, options),
      graph,
      latest ? snapshotOf(latest.checkpoint) : model.parameters,
    );
    const resumeFrom = latest ? (latest.checkpoint.sourcePosition as ReplayPosition) : undefined;
    const startEvent = resumeFrom?.event ?? 0;

    const dataDir = options.data ?? (existsSync(SHARED_MOVIELENS) ? SHARED_MOVIELENS : undefined);
    // Each rating is an impression (even index) then a behavior (odd index): the first impression
    // still to come belongs to rating ceil(startEvent / 2).
    const startRating = Math.ceil(startEvent / 2);
    const stream = await openMovieLens100k({
      ...(dataDir === undefined ? {} : { dir: dataDir }),
      cacheDir: options.cacheDir ?? path.join(options.stateDir, 'cache'),
      maxHistoryPerType: manifest.maxHistoryPerType,
      startAtEvent: startEvent,
      maxImpressions:
        options.maxImpressions === 0 ? Number.POSITIVE_INFINITY : startRating + options.maxImpressions,
      logger: log,
    });
    if (latest && resumeFrom?.dataset !== stream.fingerprint) {
      throw new BaheError(
        ErrorCode.CHECKPOINT_INVALID,
        `checkpoint ${latest.path} is a position in other data (dataset ${resumeFrom?.dataset ?? 'unknown'}, ` +
          `now ${stream.fingerprint}); give the same --data as before, or a fresh --state-dir`,
        { context: { path: latest.path, field: 'data' } },
      );
    }
    if (latest)
      log.info({ path: latest.path, step: trainer.step, event: startEvent }, 'resuming from checkpoint');

    const store = await openStore(
      options,
      { encoderVersion: manifest.encoderVersion, dimension: manifest.hiddenSize },
      log,
    );
    closers.push(() => store.close());
    const vectors = new BehaviorVectors(store, (texts) => encoder.encode(texts), {
      encoderBatchSize: options.encoderBatchSize,
      encoderMaxWaitMs: options.encoderMaxWaitMs,
    });
    closers.push(() => vectors.close());

    const remaining = Math.max(0, Math.floor(stream.total / 2) - startRating);
    log.info(
      {
        dataDir: dataDir ?? 'fetched',
        encoderVersion: manifest.encoderVersion,
        startEvent,
        impressions: remaining,
      },
      'replay started',
    );

    const identities = new BehaviorIdentityCache();
    const progress = new Progress(log, {
      unit: 'impressions',
      total: remaining,
      intervalMs: options.progressIntervalMs,
    });
    const counts = { eventsRead: 0, behaviorEvents: 0, impressions: 0, rejectedEvents: 0 };
    const runStartCount = trainer.metrics.count;
    let pendingBehaviors: BehaviorRef[] = [];
    let batch: TrainingImpression[] = [];
    let batchRefs: BehaviorRef[] = [];
    let position = startEvent;
    let trainMs = 0;
    let checkpointPath = latest?.path;
    const stepsAtStart = trainer.step;

    let saved = { step: trainer.step, event: startEvent };
    const saveCheckpoint = async (): Promise<void> => {
      if (saved.step === trainer.step && saved.event === position) return;
      await vectors.flushSightings();
      const written = await writeCheckpoint(
        checkpointDir,
        checkpointOf(identity, trainer.snapshot(), { event: position, dataset: stream.fingerprint }),
        { keep: options.keepCheckpoints, logger: log.child({ event: position }) },
      );
      checkpointPath = written.path;
      saved = { step: trainer.step, event: position };
    };

    const trainBatch = async (nextPosition: number): Promise<void> => {
      // Behaviors read so far must be stored before the checkpoint that covers them is written.
      await vectors.ensure(pendingBehaviors, true);
      pendingBehaviors = [];
      await vectors.ensure(batchRefs);
      const lookup = await vectors.vectors(batchRefs.map((ref) => ref.id));
      const stepStarted = performance.now();
      const report = await trainer.trainMicroBatch(batch, (id) => lookup.get(id) as Float32Array);
      trainMs += performance.now() - stepStarted;
      log.debug(report, 'training step');
      progress.advance(batch.length, { step: report.step, loss: Number(report.loss.toFixed(4)) });
      batch = [];
      batchRefs = [];
      position = nextPosition;
      if (trainer.step % options.checkpointEverySteps === 0) await saveCheckpoint();
    };

    for await (const { kind, index, event } of stream) {
      if (signal?.aborted) break;
      counts.eventsRead += 1;
      try {
        if (kind === 'BehaviorEvent') {
          counts.behaviorEvents += 1;
          pendingBehaviors.push(behaviorRefOf(event, identities));
          if (pendingBehaviors.length >= options.encoderBatchSize) {
            await vectors.ensure(pendingBehaviors, true);
            pendingBehaviors = [];
          }
        } else {
          counts.impressions += 1;
          const resolved = resolveImpression(event, identities);
          batch.push(resolved.impression);
          batchRefs.push(...resolved.refs);
          if (batch.length === manifest.trainBatchSize) await trainBatch(index + 1);
        }
      } catch (error) {
        if (!(error instanceof BaheError) || error.retryable || !error.code.startsWith('BAHE_BEHAVIOR'))
          throw error;
        counts.rejectedEvents += 1;
        log.warn({ err: error, eventId: event.eventId, index }, 'event rejected');
      }
      if (batch.length === 0) position = Math.max(position, index + 1);
    }

    if (signal?.aborted) {
      log.warn(
        { pendingImpressions: batch.length },
        'interrupted; the unfinished micro-batch is left for the next run',
      );
      await vectors.ensure(pendingBehaviors, true);
    } else if (batch.length > 0) {
      await trainBatch(startEvent + counts.eventsRead);
    } else {
      await vectors.ensure(pendingBehaviors, true);
      position = startEvent + counts.eventsRead;
    }
    await saveCheckpoint();

    const stats = vectors.stats;
    const trained = trainer.samples - (latest?.checkpoint.samplesSeen ?? 0);
    return {
      ...counts,
      behaviorOccurrences: stats.occurrences,
      uniqueBehaviors: stats.unique,
      alreadyStored: stats.alreadyStored,
      encoderCalls: stats.encoded,
      encoderBatches: stats.encoderBatches,
      dedupeRatio: stats.unique === 0 ? 0 : stats.occurrences / stats.unique,
      storedBehaviors: await store.count(),
      trainingSteps: trainer.step - stepsAtStart,
      totalSteps: trainer.step,
      totalSamples: trainer.samples,
      trainSamplesPerS: trainMs > 0 ? (trained * 1000) / trainMs : 0,
      endToEndSamplesPerS: trained / ((performance.now() - started) / 1000),
      runningAuc: trainer.metrics.auc(),
      runningLogLoss: trainer.metrics.logLoss,
      baselineAuc: trainer.baselineMetrics.auc(),
      baselineLogLoss: trainer.baselineMetrics.logLoss,
      runAuc: trainer.metrics.aucOfRange(runStartCount, trainer.metrics.count),
      runBaselineAuc: trainer.baselineMetrics.aucOfRange(runStartCount, trainer.baselineMetrics.count),
      checkpointPath,
      resumedFromStep: stepsAtStart,
      streamPosition: position,
      streamTotal: 2 * stream.ratingCount,
      streamFinished: position >= 2 * stream.ratingCount,
      elapsedS: (performance.now() - started) / 1000,
    };
  } finally {
    for (const close of closers.reverse()) {
      await close().catch((error: unknown) => log.warn({ err: error }, 'release failed during shutdown'));
    }
  }
}
