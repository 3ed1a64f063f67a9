import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsRegistry } from '../../src/ops/metrics.js';
import { RateTracker } from '../../src/ops/service-metrics.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js';

test('counters, gauges and histograms render as exposition text that a strict reader parses back', async () => {
  const registry = new MetricsRegistry();
  const requests = registry.counter('t_requests_total', 'Requests.', ['status']);
  const depth = registry.gauge('t_depth', 'Depth.');
  const latency = registry.histogram('t_latency_seconds', 'Latency.', ['op'], [0.1, 1]);
  requests.inc({ status: '200' });
  requests.inc({ status: '200' }, 2);
  requests.inc({ status: '400' });
  depth.set({}, -2.5);
  for (const value of [0.05, 0.5, 0.7, 5]) latency.observe({ op: 'get' }, value);

  const families = parsePrometheusText(await registry.render());
  assert.equal(families.get('t_requests_total')?.type, 'counter');
  assert.equal(sampleValue(families, 't_requests_total', { status: '200' }), 3);
  assert.equal(sampleValue(families, 't_requests_total', { status: '400' }), 1);
  assert.equal(sampleValue(families, 't_depth'), -2.5);
  assert.equal(sampleValue(families, 't_latency_seconds_bucket', { op: 'get', le: '0.1' }), 1);
  assert.equal(sampleValue(families, 't_latency_seconds_bucket', { op: 'get', le: '1' }), 3);
  assert.equal(sampleValue(families, 't_latency_seconds_bucket', { op: 'get', le: '+Inf' }), 4);
  assert.equal(sampleValue(families, 't_latency_seconds_count', { op: 'get' }), 4);
  assert.ok(Math.abs((sampleValue(families, 't_latency_seconds_sum', { op: 'get' }) ?? 0) - 6.25) < 1e-9);
});

test('label values with backslashes, quotes and line feeds are escaped and read back unchanged', async () => {
  const registry = new MetricsRegistry();
  const info = registry.gauge('t_info', 'Help with a \\ backslash\nand a second line.', ['version']);
  const awkward = 'C:\\models\\"v2"\nnext';
  info.set({ version: awkward }, 1);
  const text = await registry.render();
  assert.ok(text.includes('# HELP t_info Help with a \\\\ backslash\\nand a second line.'));
  const families = parsePrometheusText(text);
  assert.equal(sampleValue(families, 't_info', { version: awkward }), 1);
});

test('collect hooks run before each rendering; a failing one is reported and the rest still render', async () => {
  const registry = new MetricsRegistry();
  const seen = registry.gauge('t_seen', 'Seen.');
  let stats = 1;
  registry.onCollect(() => seen.set({}, stats));
  registry.onCollect(() => {
    throw new Error('collector broke');
  });
  const errors: unknown[] = [];
  assert.equal(sampleValue(parsePrometheusText(await registry.render((e) => errors.push(e))), 't_seen'), 1);
  stats = 7;
  assert.equal(sampleValue(parsePrometheusText(await registry.render((e) => errors.push(e))), 't_seen'), 7);
  assert.equal(errors.length, 2);
});

test('bad names, wrong labels, decreasing counters and duplicate metrics are refused', () => {
  const registry = new MetricsRegistry();
  assert.throws(() => registry.gauge('bad-name', 'x'), /not valid/);
  assert.throws(() => registry.gauge('t_ok', 'x', ['le']), /not valid/);
  const counter = registry.counter('t_total', 'x', ['kind']);
  assert.throws(() => counter.inc({}), /takes labels \[kind\]/);
  assert.throws(() => counter.inc({ kind: 'a' }, -1), /only increase/);
  assert.throws(() => registry.counter('t_total', 'again'), /registered twice/);
  assert.throws(() => registry.histogram('t_h', 'x', [], [1, 1]), /distinct/);
});

test('the event rate is the count added since the previous reading over the time between them', () => {
  const rate = new RateTracker(0);
  assert.equal(rate.rate(100, 2_000), 50);
  assert.equal(rate.rate(100, 3_000), 0);
  assert.equal(rate.rate(400, 4_000), 300);
});
