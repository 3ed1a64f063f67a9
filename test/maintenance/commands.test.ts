/**
 * The maintenance commands as a user runs them (bahe backfill, similar, prune, versions,
 * drop-version), on an embedded store in a temporary folder, with the committed default model.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { behaviorId as idOf } from '../../src/behavior/id.js';
import { parseOptions } from '../../src/config/options.js';
import { silentLogger } from '../../src/log.js';
import { openStore, STORE_OPTION_SPECS } from '../../src/store/select.js';
import { defaultModelDir, repoRoot, tempDir } from '../helpers/data.js';
import { makeRecords } from '../store/records.js';

const run = promisify(execFile);
const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
const DAY = 86_400_000;

async function baheOutput(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const env = { ...process.env, QDRANT_URL: '', BAHE_LOG_LEVEL: 'warn' };
  return run(process.execPath, [cli, ...args], { env, timeout: 120_000 });
}

async function bahe(args: string[]): Promise<string> {
  return (await baheOutput(args)).stdout;
}

test('backfill into the default model, similar finds the nearest titles, prune and drop-version clean up', async (t) => {
  const { dir, cleanup } = await tempDir('bahe-maintenance-');
  t.after(cleanup);
  const storeFlags = ['--store', 'embedded', '--store-dir', dir];

  // An older encoder version holding three titles, two of them unseen for 40 days.
  const now = 1_750_000_000_000;
  const titles = ['toy story (1995)', 'toy story 2 (1999)', 'heat (1995)'];
  const records = makeRecords(3, 8).map((record, i) => ({
    ...record,
    id: idOf('liked', titles[i] as string),
    text: titles[i] as string,
    firstSeenMs: now - (i === 0 ? 1 : 40) * DAY,
    lastSeenMs: now - (i === 0 ? 1 : 40) * DAY,
  }));
  const options = parseOptions(STORE_OPTION_SPECS, storeFlags, {}).options;
  const old = await openStore(options, { encoderVersion: 'e-old', dimension: 8 }, silentLogger());
  await old.upsert(records);
  await old.close();

  const backfilled = JSON.parse(
    await bahe(['backfill', '--model', defaultModelDir, '--threads', '2', ...storeFlags]),
  );
  assert.deepEqual([backfilled.from, backfilled.encoded, backfilled.switched], ['e-old', 3, true]);

  const hits = (await bahe(['similar', 'toy story', '--k', '2', '--json', '--threads', '2', ...storeFlags]))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.deepEqual(hits.map((hit) => hit.text).sort(), ['toy story (1995)', 'toy story 2 (1999)']);
  assert.ok(hits[0].score >= hits[1].score);
  const ofType = await baheOutput([
    'similar',
    'toy story',
    '--type',
    'item',
    '--threads',
    '2',
    ...storeFlags,
  ]);
  assert.equal(ofType.stdout, 'no stored behaviors of type item\n');
  const unknownType = await baheOutput([
    'similar',
    'toy story',
    '--type',
    'likes',
    '--threads',
    '2',
    ...storeFlags,
  ]);
  assert.match(
    unknownType.stderr,
    /--type likes is none of the types this model stores \(liked, disliked, item\)/,
  );

  const pruned = JSON.parse(
    await bahe(['prune', '--older-than', '30d', '--now', String(now), ...storeFlags]),
  );
  assert.deepEqual([pruned.removed, pruned.left], [2, 1]);

  const listed = JSON.parse(await bahe(['versions', ...storeFlags]));
  assert.deepEqual(
    listed.versions.map((v: { encoderVersion: string; active: boolean }) => [
      v.encoderVersion.startsWith('e-old'),
      v.active,
    ]),
    [
      [false, true],
      [true, false],
    ],
  );
  await bahe(['drop-version', 'e-old', ...storeFlags]);
  assert.equal(JSON.parse(await bahe(['versions', ...storeFlags])).versions.length, 1);
});
