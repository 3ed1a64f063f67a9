import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/data.js';

/** Every metric name the source registers, as the string literals `'bahe_...'` in src/. */
async function registeredMetricNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const files = await readdir(path.join(repoRoot, 'src'), { recursive: true });
  for (const file of files.filter((f) => f.endsWith('.ts'))) {
    const text = await readFile(path.join(repoRoot, 'src', file), 'utf8');
    for (const match of text.matchAll(/'(bahe_[a-z_]+)'/g)) names.add(match[1] as string);
  }
  return names;
}

test('every metric the Grafana dashboard queries is one the services register', async () => {
  const dashboard = JSON.parse(
    await readFile(path.join(repoRoot, 'deploy/grafana/bahe-stream.json'), 'utf8'),
  ) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  };
  const registered = await registeredMetricNames();
  const queried = new Set<string>();
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets ?? []) {
      for (const match of expr.matchAll(/\b(bahe_[a-z_]+)/g)) {
        queried.add((match[1] as string).replace(/_(bucket|sum|count)$/, ''));
      }
    }
  }
  assert.ok(queried.size >= 15, `the dashboard queries ${queried.size} metrics`);
  assert.deepEqual(
    [...queried].filter((name) => !registered.has(name)),
    [],
    'metrics the dashboard queries but no service registers',
  );
});
