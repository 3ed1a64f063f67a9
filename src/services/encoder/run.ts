/** `bahe encoder` as a function: open the model, the store and the encoder, run the service until stopped. */

import { runUntilStopped } from '../../commands/common.js';
import { OnnxEncoder } from '../../encoder/onnx-encoder.js';
import type { ExecutionProvider } from '../../encoder/ort-session.js';
import { kafkaClientOptionsFrom } from '../../kafka/cli-options.js';
import { createKafkaClient } from '../../kafka/client.js';
import type { Logger } from '../../log.js';
import { loadModel } from '../../model/load.js';
import { watchEncoder } from '../../ops/service-metrics.js';
import { ServiceOps } from '../../ops/service-ops.js';
import { openStore } from '../../store/select.js';
import type { EncoderCliOptions } from './cli-options.js';
import { EncoderService, type EncoderServiceStats } from './service.js';
import type { EncoderServiceOptions } from './service-options.js';

/**
 * Runs one encoder instance until `signal` aborts (then drains, commits and returns its counts) or
 * the service fails (then throws).
 */
export async function runEncoder(
  options: EncoderCliOptions,
  logger: Logger,
  signal: AbortSignal,
  ops: ServiceOps = ServiceOps.disabled(),
): Promise<EncoderServiceStats> {
  const model = await loadModel(options.model);
  const log = logger.child({ model: model.manifest.name, encoderVersion: model.manifest.encoderVersion });
  const kafka = createKafkaClient(kafkaClientOptionsFrom(options), log);
  const binding = { encoderVersion: model.manifest.encoderVersion, dimension: model.manifest.hiddenSize };
  const store = await openStore(options, binding, log);
  try {
    const encoder = await OnnxEncoder.fromModel(model, {
      executionProviders: [options.provider as ExecutionProvider],
      intraOpThreads: options.threads,
    });
    try {
      const encode = ops.timeEncode((texts) => encoder.encode(texts));
      const service = new EncoderService(
        { kafka, store: ops.timeStore(store), encode, logger: log },
        serviceOptionsFrom(options),
      );
      watchEncoder(ops, service, { kafka, store, model: model.manifest });
      return await runUntilStopped(service, signal);
    } finally {
      await encoder.close();
    }
  } finally {
    await store.close();
  }
}

function serviceOptionsFrom(options: EncoderCliOptions): EncoderServiceOptions {
  return {
    behaviorTopic: options.behaviorTopic,
    impressionTopic: options.impressionTopic,
    refsTopic: options.refsTopic,
    deadLetterTopic: options.deadLetterTopic,
    groupId: options.groupId,
    encoderBatchSize: options.encoderBatchSize,
    encoderMaxWaitMs: options.encoderMaxWaitMs,
    admissionThreshold: options.admissionThreshold,
    concurrentPartitions: options.concurrentPartitions,
    sessionTimeoutMs: options.sessionTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    fetchMaxWaitMs: options.fetchMaxWaitMs,
    maxConsumerRestarts: options.maxConsumerRestarts,
    createTopics: options.createTopics,
    refsPartitions: options.refsPartitions,
    replicationFactor: options.replicationFactor,
    fromBeginning: true,
  };
}
