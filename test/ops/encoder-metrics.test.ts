import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseOptions } from '../../src/config/options.js';
import { silentLogger } from '../../src/log.js';
import { ServiceOps } from '../../src/ops/service-ops.js';
import { PRODUCE_OPTION_SPECS } from '../../src/produce/options.js';
import { runProduce } from '../../src/produce/run.js';
import { ENCODER_OPTION_SPECS } from '../../src/services/encoder/cli-options.js';
import { runEncoder } from '../../src/services/encoder/run.js';
import { datasetDir, tempDir } from '../helpers/data.js';
import { kafkaBrokers, kafkaFixture, kafkaSkip } from '../helpers/kafka.js';
import { defaultModel } from '../helpers/model.js';
import { freePort } from '../helpers/net.js';
import { type Family, parsePrometheusText, sampleValue } from '../helpers/prometheus.js';

const movielens = datasetDir('movielens-100k');
const noKafka = await kafkaSkip();
const TOPICS = ['behaviors', 'impressions', 'refs', 'behaviors.dlq', 'impressions.dlq', 'refs.dlq'];

test('a running encoder serves readiness and metrics: events, encoded behaviors, batch sizes, store latency, lag down to 0', {
  skip: noKafka || movielens.skip,
}, async () => {
  const fixture = await kafkaFixture(TOPICS);
  const work = await tempDir('bahe-encoder-ops-');
  const brokers = kafkaBrokers().join(',');
  const topics = [
    ...['--behavior-topic', fixture.topic('behaviors'), '--impression-topic', fixture.topic('impressions')],
  ];
  await runProduce(
    parseOptions(
      PRODUCE_OPTION_SPECS,
      ['--data', movielens.dir, '--max-events', '100', '--kafka-brokers', brokers, ...topics],
      {},
    ).options,
    silentLogger(),
  );
  const encoderArgs = [
    ...topics,
    ...['--refs-topic', fixture.topic('refs'), '--group-id', fixture.groupId, '--kafka-brokers', brokers],
    ...['--store-dir', path.join(work.dir, 'store'), '--threads', '2', '--no-create-topics'],
    ...['--session-timeout-ms', '10000', '--heartbeat-interval-ms', '500', '--fetch-max-wait-ms', '200'],
  ];
  const options = parseOptions(ENCODER_OPTION_SPECS, encoderArgs, {}).options;
  const ops = await ServiceOps.start(
    { opsHost: '127.0.0.1', opsPort: await freePort() },
    { service: 'encoder', brokerCheckIntervalMs: 200 },
    silentLogger(),
  );
  const url = ops.server?.url as string;
  const stop = new AbortController();
  const running = runEncoder(options, silentLogger(), stop.signal, ops);
  const lagOf = (metrics: Map<string, Family>, name: string) =>
    sampleValue(metrics, 'bahe_consumer_lag_messages', {
      group: fixture.groupId,
      topic: fixture.topic(name),
    });
  try {
    let metrics = new Map<string, Family>();
    const deadline = Date.now() + 60_000;
    const drained = () =>
      ['behaviors', 'impressions', 'refs'].every((name) => lagOf(metrics, name) === 0) &&
      (sampleValue(metrics, 'bahe_events_total', { kind: 'event' }) ?? 0) === 100;
    while (!drained()) {
      if (Date.now() > deadline) throw new Error(`not drained in time:\n${[...metrics.keys()].join(' ')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      metrics = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
    }

    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const encoded = sampleValue(metrics, 'bahe_behaviors_encoded_total') ?? 0;
    assert.ok(encoded > 0, 'behaviors were encoded');
    assert.ok((sampleValue(metrics, 'bahe_behaviors_already_stored_total') ?? -1) >= 0);
    assert.ok((sampleValue(metrics, 'bahe_group_joins_total') ?? 0) >= 1, 'the member joined its group');
    assert.ok((sampleValue(metrics, 'bahe_events_total', { kind: 'behavior_ref' }) ?? 0) >= encoded);
    assert.ok((sampleValue(metrics, 'bahe_encoder_batch_size_sum') ?? 0) >= encoded);
    assert.ok((sampleValue(metrics, 'bahe_encoder_latency_seconds_count') ?? 0) >= 1);
    assert.ok((sampleValue(metrics, 'bahe_store_latency_seconds_count', { operation: 'upsert' }) ?? 0) >= 1);
    const { manifest } = await defaultModel();
    const info = { service: 'encoder', model: manifest.name, encoder_version: manifest.encoderVersion };
    assert.equal(sampleValue(metrics, 'bahe_info', info), 1);
  } finally {
    stop.abort();
    await running;
    await ops.stop();
    await fixture.cleanup();
    await work.cleanup();
  }
});
