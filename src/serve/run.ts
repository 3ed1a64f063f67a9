/**
 * `bahe serve` as functions: open the model, the store and the graphs, serve `POST /predict` next to
 * the ops endpoints, and follow new model versions until stopped.
 */
import { existsSync } from 'node:fs';
import { runtimeSessionOptions } from '../commands/common.js';
import { OnnxEncoder } from '../encoder/onnx-encoder.js';
import { openSession } from '../encoder/ort-session.js';
import { kafkaClientOptionsFrom } from '../kafka/cli-options.js';
import { createKafkaClient } from '../kafka/client.js';
import type { Logger } from '../log.js';
import { loadModel } from '../model/load.js';
import { modelVersionMetrics } from '../ops/service-metrics.js';
import type { ServiceOps } from '../ops/service-ops.js';
import { BehaviorVectors } from '../pipeline/behavior-vectors.js';
import { openStore } from '../store/select.js';
import { AggregatorGraph } from '../trainer/aggregator.js';
import { batchShapeOf } from '../trainer/batch.js';
import { checkpointFiles } from '../trainer/checkpoint.js';
import { modelIdentity } from '../trainer/setup.js';
import { Releases } from '../util/releases.js';
import { ModelVersions } from './model-versions.js';
import type { ServeCliOptions } from './options.js';
import { predictRoute } from './predict-route.js';
import { Scorer } from './scorer.js';
import { CheckpointFolderWatch, ModelUpdateConsumer, type UpdateSource } from './update-sources.js';

/** Longest user or item id accepted; ids are keys of the side-feature statistics, never free text. */
const MAX_ID_CHARS = 256;

export interface OpenedScorer {
  scorer: Scorer;
  versions: ModelVersions;
  /** Stops following updates, lets requests in flight finish, releases graphs and store. */
  close(): Promise<void>;
}

/**
 * Opens everything the scorer needs and serves `/predict` on `ops`' server; loads the newest
 * checkpoint of the checkpoint folder, then follows model updates.
 */
export async function openScorer(
  options: ServeCliOptions,
  logger: Logger,
  ops: ServiceOps,
): Promise<OpenedScorer> {
  const model = await loadModel(options.model);
  const { manifest } = model;
  const identity = modelIdentity(model);
  const log = logger.child({ model: manifest.name, encoderVersion: manifest.encoderVersion });
  const sessionOptions = runtimeSessionOptions(options);
  const releases = new Releases(log);
  const close = () => releases.releaseAll();
  try {
    const encoder = await OnnxEncoder.fromModel(model, sessionOptions);
    releases.add(() => encoder.close());
    const session = await openSession(model.files.aggregator, sessionOptions);
    const shape = batchShapeOf(manifest);
    const aggregator = new AggregatorGraph(session, manifest.parameters.entries, shape);
    releases.add(() => aggregator.close());
    // The store the encoder service fills: behaviors it has stored are not encoded here again.
    const binding = { encoderVersion: manifest.encoderVersion, dimension: manifest.hiddenSize };
    const store = await openStore(options, binding, log);
    releases.add(() => store.close());
    const vectors = new BehaviorVectors(
      ops.timeStore(store),
      ops.timeEncode((texts) => encoder.encode(texts)),
      { encoderBatchSize: options.encoderBatchSize, encoderMaxWaitMs: options.encoderMaxWaitMs },
    );
    releases.add(() => vectors.close());

    const reloads = ops.registry.counter('bahe_model_reloads_total', 'Model version loads, by outcome.', [
      'outcome',
    ]);
    const versions = new ModelVersions(identity, options.checkpointDir, log, (outcome) =>
      reloads.inc({ outcome }),
    );
    const versionMetrics = modelVersionMetrics(ops.registry);
    ops.registry.onCollect(() => {
      const served = versions.current;
      return versionMetrics.set(identity, served?.step, served?.path);
    });
    const scorer = new Scorer({ aggregator, shape, vectors, versions });
    const limits = {
      behaviorTypes: manifest.behaviorTypes,
      maxCandidates: options.maxCandidates,
      maxHistoryLength: options.maxHistoryLength,
      maxBodyBytes: options.maxBodyBytes,
      maxIdChars: MAX_ID_CHARS,
    };
    ops.server?.route('POST', '/predict', predictRoute(scorer, limits, ops.registry, log));
    // Requests in flight finish before the graphs they use are released.
    releases.add(async () => ops.server?.stop());

    ops.watchStore(store);
    ops.modelLoaded(manifest, () => versions.current !== undefined || 'no model version loaded yet');
    const sources = await startSources(options, versions, ops, log);
    releases.add(async () => {
      for (const source of sources) await source.stop();
    });
    return { scorer, versions, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function startSources(
  options: ServeCliOptions,
  versions: ModelVersions,
  ops: ServiceOps,
  logger: Logger,
): Promise<UpdateSource[]> {
  if (!existsSync(options.checkpointDir)) {
    logger.warn(
      { checkpointDir: options.checkpointDir },
      'the checkpoint folder does not exist (yet): no model version can load until the trainer writes ' +
        'there; check --checkpoint-dir',
    );
  }
  if (options.modelUpdates === 'folder') {
    const watch = new CheckpointFolderWatch(options.checkpointDir, versions, options.watchIntervalMs, logger);
    await watch.start();
    return [watch];
  }
  const [newest] = await checkpointFiles(options.checkpointDir);
  if (newest !== undefined) await versions.request({ location: newest, source: 'folder' });
  const kafka = createKafkaClient(kafkaClientOptionsFrom(options), logger);
  ops.watchBroker(kafka);
  const consumer = new ModelUpdateConsumer(
    kafka,
    versions,
    {
      topic: options.modelUpdateTopic,
      groupPrefix: 'bahe-serve',
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3_000,
    },
    logger,
  );
  await consumer.start();
  return [consumer];
}

/** Serves until `signal` aborts, then drains requests in flight and releases everything. */
export async function runServe(
  options: ServeCliOptions,
  logger: Logger,
  signal: AbortSignal,
  ops: ServiceOps,
): Promise<void> {
  const opened = await openScorer(options, logger, ops);
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await opened.close();
  }
}
