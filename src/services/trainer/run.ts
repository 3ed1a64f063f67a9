/** `bahe trainer` as functions: open the model, the state folder and the graphs, run the service until stopped. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runUntilStopped } from '../../commands/common.js';
import { OnnxEncoder } from '../../encoder/onnx-encoder.js';
import { type ExecutionProvider, openSession } from '../../encoder/ort-session.js';
import { ErrorCode } from '../../errors.js';
import { kafkaClientOptionsFrom } from '../../kafka/cli-options.js';
import { createKafkaClient } from '../../kafka/client.js';
import type { Logger } from '../../log.js';
import { loadModel } from '../../model/load.js';
import { watchTrainer } from '../../ops/service-metrics.js';
import { ServiceOps } from '../../ops/service-ops.js';
import { openStore } from '../../store/select.js';
import { readLatestCheckpoint } from '../../trainer/checkpoint.js';
import { modelIdentity, snapshotOf, trainerSettingsFor } from '../../trainer/setup.js';
import { TrainStepGraph } from '../../trainer/train-step.js';
import { Trainer } from '../../trainer/trainer.js';
import { acquireLock } from '../../util/lock.js';
import type { TrainerCliOptions } from './cli-options.js';
import { TrainerService, type TrainerServiceStats } from './service.js';
import type { TrainerServiceOptions } from './service-options.js';

/** The same lock file `bahe run` takes in its state folder, so the two refuse to share one. */
const STATE_LOCK_FILE = 'LOCK';
const STATE_LOCK_SUBJECT = {
  what: 'state folder',
  code: ErrorCode.STATE_IN_USE,
  alternative: 'give this trainer another --state-dir',
};

export interface OpenedTrainer {
  service: TrainerService;
  /** Releases the graphs, the store and the state-folder lock; call after the service has ended. */
  close(): Promise<void>;
}

/**
 * Opens everything a trainer instance needs (model and provider first, so nothing is written when
 * they fail), resumes the newest checkpoint of the state folder, and returns the service unstarted.
 */
export async function openTrainer(
  options: TrainerCliOptions,
  logger: Logger,
  ops: ServiceOps = ServiceOps.disabled(),
): Promise<OpenedTrainer> {
  const model = await loadModel(options.model);
  const { manifest } = model;
  const log = logger.child({ model: manifest.name, encoderVersion: manifest.encoderVersion });
  const kafka = createKafkaClient(kafkaClientOptionsFrom(options), log);
  const sessionOptions = {
    executionProviders: [options.provider as ExecutionProvider],
    intraOpThreads: options.threads,
  };

  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const release of closers.reverse()) {
      await release().catch((error: unknown) => log.warn({ err: error }, 'release failed during shutdown'));
    }
  };
  try {
    const settings = trainerSettingsFor(model, options);
    const encoder = await OnnxEncoder.fromModel(model, sessionOptions);
    closers.push(() => encoder.close());
    const graph = new TrainStepGraph(
      await openSession(model.files.trainStep, sessionOptions),
      manifest.parameters.entries,
      settings.shape,
    );
    closers.push(() => graph.close());

    await mkdir(options.stateDir, { recursive: true });
    const lock = await acquireLock(path.join(options.stateDir, STATE_LOCK_FILE), log, STATE_LOCK_SUBJECT);
    closers.push(() => lock.release());

    const checkpointDir = path.join(options.stateDir, 'checkpoints');
    const identity = modelIdentity(model);
    const latest = await readLatestCheckpoint(checkpointDir, { expectedModel: identity, logger: log });
    const trainer = new Trainer(settings, graph, latest ? snapshotOf(latest.checkpoint) : model.parameters);
    if (latest) log.info({ path: latest.path, step: trainer.step }, 'resuming from checkpoint');

    const binding = { encoderVersion: manifest.encoderVersion, dimension: manifest.hiddenSize };
    const store = await openStore(options, binding, log);
    closers.push(() => store.close());

    const service = new TrainerService(
      {
        kafka,
        trainer,
        batchSize: manifest.trainBatchSize,
        store: ops.timeStore(store),
        encode: ops.timeEncode((texts) => encoder.encode(texts)),
        checkpointDir,
        model: identity,
        resumedFrom: latest
          ? { path: latest.path, sourcePosition: latest.checkpoint.sourcePosition }
          : undefined,
        logger: log,
      },
      serviceOptionsFrom(options),
    );
    watchTrainer(ops, { service, trainer, kafka, store, model: identity, manifest });
    return { service, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Runs one trainer instance until `signal` aborts (then it finishes the step, checkpoints, publishes
 * and returns its counts) or the service fails (then it throws).
 */
export async function runTrainer(
  options: TrainerCliOptions,
  logger: Logger,
  signal: AbortSignal,
  ops: ServiceOps = ServiceOps.disabled(),
): Promise<TrainerServiceStats> {
  const { service, close } = await openTrainer(options, logger, ops);
  try {
    return await runUntilStopped(service, signal);
  } finally {
    await close();
  }
}

function serviceOptionsFrom(options: TrainerCliOptions): TrainerServiceOptions {
  return {
    impressionTopic: options.impressionTopic,
    modelUpdateTopic: options.modelUpdateTopic,
    deadLetterTopic: options.deadLetterTopic,
    groupId: options.groupId,
    batchMaxWaitMs: options.batchMaxWaitMs,
    checkpointEverySteps: options.checkpointEverySteps,
    keepCheckpoints: options.keepCheckpoints,
    encoderBatchSize: options.encoderBatchSize,
    encoderMaxWaitMs: options.encoderMaxWaitMs,
    storeWaitMs: options.storeWaitMs,
    sessionTimeoutMs: options.sessionTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    fetchMaxWaitMs: options.fetchMaxWaitMs,
    maxConsumerRestarts: options.maxConsumerRestarts,
    createTopics: options.createTopics,
    replicationFactor: options.replicationFactor,
  };
}
