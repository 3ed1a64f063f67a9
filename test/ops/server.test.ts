import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafkaClient } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/log.js';
import { METRICS_CONTENT_TYPE, MetricsRegistry } from '../../src/ops/metrics.js';
import { OpsServer, sendJson } from '../../src/ops/server.js';
import { ServiceOps } from '../../src/ops/service-ops.js';
import { kafkaFixture, kafkaSkip, testKafka } from '../helpers/kafka.js';
import { closedPort, freePort } from '../helpers/net.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js';

const noKafka = await kafkaSkip();

/** Service ops on a free port with a loaded model and broker checks every 200 ms. */
async function startServiceOps(): Promise<ServiceOps> {
  const ops = await ServiceOps.start(
    { opsHost: '127.0.0.1', opsPort: await freePort() },
    { service: 't', brokerCheckIntervalMs: 200 },
    silentLogger(),
  );
  ops.modelLoaded({ name: 'm', encoderVersion: 'e-1' });
  return ops;
}

async function startServer(registry = new MetricsRegistry()): Promise<OpsServer> {
  const server = new OpsServer({ host: '127.0.0.1', port: 0, registry, logger: silentLogger() });
  await server.start();
  return server;
}

test('/healthz answers alive; /readyz is 503 naming the failing check, 200 once every check holds', async () => {
  const server = await startServer();
  let modelReady: boolean | string = 'model not loaded yet';
  server.addReadiness({ name: 'store', check: () => true });
  server.addReadiness({ name: 'model', check: () => modelReady });
  try {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'alive' });

    const notReady = await fetch(`${server.url}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(await notReady.json(), {
      ready: false,
      checks: { store: { ready: true }, model: { ready: false, reason: 'model not loaded yet' } },
    });

    modelReady = true;
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
  } finally {
    await server.stop();
  }
});

test('/metrics serves the registry as Prometheus text; unknown paths are 404 and wrong methods 405', async () => {
  const registry = new MetricsRegistry();
  registry.counter('t_things_total', 'Things.').inc({}, 3);
  const server = await startServer(registry);
  try {
    const metrics = await fetch(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get('content-type'), METRICS_CONTENT_TYPE);
    assert.equal(sampleValue(parsePrometheusText(await metrics.text()), 't_things_total'), 3);

    const missing = await fetch(`${server.url}/nope`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: { message: string } }).error.message, /\/metrics/);

    const wrong = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
  } finally {
    await server.stop();
  }
});

test('stop lets a request in flight finish before the server closes', async () => {
  const server = await startServer();
  server.route('POST', '/slow', async (_request, response) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    sendJson(response, 200, { done: true });
  });
  const inFlight = fetch(`${server.url}/slow`, { method: 'POST', body: '{}' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const url = server.url;
  await server.stop();
  const response = await inFlight;
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { done: true });
  await assert.rejects(fetch(`${url}/healthz`));
});

test('a port already taken fails with BAHE_CONFIG_INVALID naming --ops-port', async () => {
  const first = await startServer();
  const second = new OpsServer({
    host: '127.0.0.1',
    port: first.address.port,
    registry: new MetricsRegistry(),
    logger: silentLogger(),
  });
  try {
    await assert.rejects(second.start(), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'BAHE_CONFIG_INVALID');
      assert.match(error.message, /--ops-port/);
      return true;
    });
  } finally {
    await first.stop();
  }
});

test('port 0 turns the ops endpoints off; the wrappers still work', async () => {
  const ops = await ServiceOps.start({ opsHost: '127.0.0.1', opsPort: 0 }, { service: 't' }, silentLogger());
  assert.equal(ops.server, undefined);
  const encode = ops.timeEncode(async (texts) => texts.map(() => new Float32Array(1)));
  assert.equal((await encode(['a', 'b'])).length, 2);
  await ops.stop();
});

test('readiness is false while the broker is unreachable, with the reason', async () => {
  const port = await closedPort();
  const kafka = createKafkaClient(
    { brokers: [`127.0.0.1:${port}`], retries: 0, connectionTimeoutMs: 500 },
    silentLogger(),
  );
  const ops = await startServiceOps();
  try {
    ops.watchBroker(kafka);
    const url = ops.server?.url as string;
    let report: { ready: boolean; checks: Record<string, { ready: boolean; reason?: string }> } | undefined;
    for (let i = 0; i < 50; i += 1) {
      const response = await fetch(`${url}/readyz`);
      report = (await response.json()) as typeof report;
      if (report?.checks.broker?.reason !== 'broker unreachable: not checked yet') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(report?.ready, false);
    assert.equal(report?.checks.model?.ready, true);
    assert.match(report?.checks.broker?.reason ?? '', /broker unreachable: .*failed/);
    const metrics = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
    assert.equal(sampleValue(metrics, 'bahe_ready', { check: 'broker' }), 0);
    assert.equal(sampleValue(metrics, 'bahe_ready', { check: 'model' }), 1);
  } finally {
    await ops.stop();
  }
});

test('with a reachable broker the service is ready and /metrics reports its group lag', {
  skip: noKafka,
}, async () => {
  const fixture = await kafkaFixture(['events'], 1);
  const topic = fixture.topic('events');
  const producer = testKafka().producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
  await producer.disconnect();

  const ops = await startServiceOps();
  try {
    ops.watchBroker(fixture.kafka, [{ groupId: fixture.groupId, topics: [topic] }]);
    const url = ops.server?.url as string;
    let lag: number | undefined;
    for (let i = 0; i < 100 && lag === undefined; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const metrics = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
      lag = sampleValue(metrics, 'bahe_consumer_lag_messages', { group: fixture.groupId, topic });
    }
    assert.equal(lag, 3);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
  } finally {
    await ops.stop();
    await fixture.cleanup();
  }
});
