import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseOptions } from '../../src/config/options.js';
import { silentLogger } from '../../src/log.js';
import { ServiceOps } from '../../src/ops/service-ops.js';
import { PRODUCE_OPTION_SPECS } from '../../src/produce/options.js';
import { runProduce } from '../../src/produce/run.js';
import { TRAINER_OPTION_SPECS } from '../../src/services/trainer/cli-options.js';
import { openTrainer } from '../../src/services/trainer/run.js';
import { datasetDir, tempDir } from '../helpers/data.js';
import { kafkaBrokers, kafkaFixture, kafkaSkip } from '../helpers/kafka.js';
import { freePort } from '../helpers/net.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js';

const movielens = datasetDir('movielens-100k');
const noKafka = await kafkaSkip();

test('a running trainer serves readiness and the metrics of its steps, loss, running AUC, lag and checkpoints', {
  skip: noKafka || movielens.skip,
}, async () => {
  const fixture = await kafkaFixture(['behaviors', 'impressions', 'impressions.dlq', 'model-updates']);
  const work = await tempDir('bahe-trainer-ops-');
  const produceArgs = [
    ...['--data', movielens.dir, '--max-events', '300', '--kafka-brokers', kafkaBrokers().join(',')],
    ...['--behavior-topic', fixture.topic('behaviors'), '--impression-topic', fixture.topic('impressions')],
  ];
  await runProduce(parseOptions(PRODUCE_OPTION_SPECS, produceArgs, {}).options, silentLogger());
  const trainerArgs = [
    ...[
      '--impression-topic',
      fixture.topic('impressions'),
      '--model-update-topic',
      fixture.topic('model-updates'),
    ],
    ...['--group-id', fixture.groupId, '--state-dir', path.join(work.dir, 'state'), '--threads', '2'],
    // Its own store, and no encoder service beside it: missing vectors are encoded here at once.
    ...['--store', 'embedded', '--store-dir', path.join(work.dir, 'store'), '--store-wait-ms', '0'],
    ...[
      '--checkpoint-every-steps',
      '1',
      '--batch-max-wait-ms',
      '500',
      '--kafka-brokers',
      kafkaBrokers().join(','),
    ],
    ...['--session-timeout-ms', '10000', '--heartbeat-interval-ms', '500', '--fetch-max-wait-ms', '200'],
  ];
  const options = parseOptions(TRAINER_OPTION_SPECS, trainerArgs, {}).options;
  const ops = await ServiceOps.start(
    { opsHost: '127.0.0.1', opsPort: await freePort() },
    { service: 'trainer', brokerCheckIntervalMs: 200 },
    silentLogger(),
  );
  const { service, close } = await openTrainer(options, silentLogger(), ops);
  const url = ops.server?.url as string;
  try {
    await service.start();
    const deadline = Date.now() + 90_000;
    while (service.stats.totalSamples < 150 || service.stats.checkpointsWritten < 2) {
      if (Date.now() > deadline) throw new Error(`trained ${service.stats.totalSamples} of 150 in time`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // The lag is read by the broker check after the checkpoint's informative commit.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const text = await (await fetch(`${url}/metrics`)).text();
    const metrics = parsePrometheusText(text);
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(metrics, name, labels);
    assert.equal(value('bahe_training_steps_total'), 2);
    assert.equal(value('bahe_training_samples_total'), 150);
    assert.equal(value('bahe_events_total', { kind: 'impression' }), 150);
    assert.ok(Number.isFinite(value('bahe_training_loss')));
    const auc = value('bahe_running_auc', { model: 'bahe' }) ?? Number.NaN;
    assert.ok(auc > 0 && auc < 1, `running AUC ${auc}`);
    assert.ok((value('bahe_running_log_loss', { model: 'baseline' }) ?? 0) > 0);
    assert.equal(value('bahe_model_version_step'), 2);
    assert.equal(value('bahe_model_version_info', { version: 'minilm-l6-split4-step-2' }), 1);
    assert.ok((value('bahe_checkpoint_age_seconds') ?? -1) >= 0);
    assert.equal(
      value('bahe_consumer_lag_messages', { group: fixture.groupId, topic: fixture.topic('impressions') }),
      0,
    );
    assert.ok((value('bahe_encoder_batch_size_count') ?? 0) >= 1, 'read-through encoding was timed');
    assert.ok((value('bahe_store_latency_seconds_count', { operation: 'missing' }) ?? 0) >= 1);
    assert.equal(value('bahe_ready', { check: 'broker' }), 1);
    assert.equal(value('bahe_ready', { check: 'store' }), 1);
    assert.equal(value('bahe_ready', { check: 'model' }), 1);
  } finally {
    await service.stop();
    await close();
    await ops.stop();
    await fixture.cleanup();
    await work.cleanup();
  }
});
