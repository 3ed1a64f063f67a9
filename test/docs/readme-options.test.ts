import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { README_OPTION_TABLES, README_PATH, renderOptionTables } from '../../src/docs/readme-options.js';

test('the option tables in README.md match the option specs (npm run docs rewrites them)', async () => {
  const readme = await readFile(README_PATH, 'utf8');
  for (const name of ['kafka', 'produce', 'encoder', 'trainer', 'serve', 'run']) {
    assert.ok(name in README_OPTION_TABLES);
    assert.ok(readme.includes(`<!-- options:${name} -->`), `README.md has the ${name} option table`);
  }
  assert.equal(renderOptionTables(readme), readme, 'README.md option tables are stale: run npm run docs');
});

test('a table names every option with its flag, variable and default, and escapes pipes', () => {
  const table = renderOptionTables('<!-- options:kafka -->\nold text\n<!-- /options -->');
  assert.match(table, /\| `--kafka-brokers <value>` \| `BAHE_KAFKA_BROKERS` \| `"127\.0\.0\.1:19092"` \|/);
  assert.match(table, /\| `--kafka-tls, --no-kafka-tls` \| `BAHE_KAFKA_TLS` \| `false` \|/);
  assert.doesNotMatch(table, /old text/);
  // The password's row has no default, and never would show one.
  assert.match(table, /\| `--kafka-password <value>` \| `BAHE_KAFKA_PASSWORD` \| {2}\|/);
  assert.throws(() => renderOptionTables('<!-- options:nope -->\n<!-- /options -->'), /known: kafka/);
});
