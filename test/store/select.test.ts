import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { parseOptions } from '../../src/config/options.js';
import { isBaheError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { backfill } from '../../src/maintenance/backfill.js';
import { parseDuration } from '../../src/maintenance/duration.js';
import { EmbeddedCatalog } from '../../src/store/embedded-catalog.js';
import { openActiveStore, openCatalog, openStore, STORE_OPTION_SPECS } from '../../src/store/select.js';
import { tempDir } from '../helpers/data.js';
import { makeRecords } from './records.js';

async function embeddedOptions(t: TestContext) {
  const { dir, cleanup } = await tempDir('bahe-select-');
  t.after(cleanup);
  return { dir, options: parseOptions(STORE_OPTION_SPECS, ['--store-dir', dir], {}).options };
}

/** A stand-in encoder of a new version: 4 values from the text's characters, deterministic. */
async function encodeToFour(texts: string[]): Promise<Float32Array[]> {
  return texts.map((text) =>
    Float32Array.from([text.length, text.charCodeAt(0), 1, text.charCodeAt(text.length - 1)]),
  );
}

test('the store kind follows --store, else a Qdrant url (flag or QDRANT_URL), else embedded', async (t) => {
  const { options } = await embeddedOptions(t);
  assert.equal(openCatalog(options, silentLogger(), {}).kind, 'embedded');
  assert.equal(openCatalog(options, silentLogger(), { QDRANT_URL: 'http://127.0.0.1:6333' }).kind, 'qdrant');
  assert.equal(
    openCatalog({ ...options, store: 'embedded' }, silentLogger(), { QDRANT_URL: 'http://x:1' }).kind,
    'embedded',
  );
  assert.throws(() => openCatalog({ ...options, store: 'qdrant' }, silentLogger(), {}), /needs a server/);
  assert.throws(
    () =>
      openCatalog(
        { ...options, qdrantUrl: 'http://127.0.0.1:6333', qdrantCollectionPrefix: 'a/b' },
        silentLogger(),
      ),
    /qdrant-collection-prefix/,
  );
});

test('the first store opened names the active version; another encoder version is refused', async (t) => {
  const { dir, options } = await embeddedOptions(t);
  const store = await openStore(options, { encoderVersion: 'e-one', dimension: 8 }, silentLogger());
  await store.upsert(makeRecords(2, 8));
  await store.close();
  const alias = JSON.parse(await readFile(path.join(dir, 'active.json'), 'utf8'));
  assert.equal(alias.encoderVersion, 'e-one');

  await assert.rejects(
    openStore(options, { encoderVersion: 'e-two', dimension: 8 }, silentLogger()),
    (error) => {
      assert.ok(isBaheError(error, 'BAHE_STORE_MISMATCH'));
      assert.match(error.message, /serves encoder version e-one.*bahe backfill/);
      return true;
    },
  );
  const again = await openActiveStore(options, silentLogger(), { readOnly: true });
  assert.equal(await again.count(), 2);
  await again.close();
});

test('claims of the alias made at once agree on one version', async (t) => {
  const { dir } = await embeddedOptions(t);
  const claims = await Promise.all(
    ['e-a', 'e-b', 'e-c'].map((version) => new EmbeddedCatalog(dir).claimActive(version)),
  );
  assert.equal(new Set(claims).size, 1);
});

test('backfill re-encodes every behavior into the new version, resumes after a stop, then switches', async (t) => {
  const { options } = await embeddedOptions(t);
  const old = await openStore(options, { encoderVersion: 'e-old', dimension: 8 }, silentLogger());
  const records = makeRecords(50, 8, { seenMs: 5000 });
  await old.upsert(records);
  await old.close();
  const catalog = openCatalog(options, silentLogger());
  const target = { encoderVersion: 'e-new', dimension: 4 };

  // Stops before the third batch, as a signal would.
  let checks = 0;
  const stopEarly = {
    get aborted() {
      checks += 1;
      return checks > 2;
    },
  } as AbortSignal;
  const settings = { batchSize: 20, switchAlias: true, progressIntervalMs: 60_000 };
  const first = await backfill(
    catalog,
    target,
    encodeToFour,
    { ...settings, signal: stopEarly },
    silentLogger(),
  );
  assert.deepEqual([first.interrupted, first.switched, first.encoded], [true, false, 40]);
  assert.equal(await catalog.activeVersion(), 'e-old', 'an unfinished backfill leaves the alias alone');

  const second = await backfill(catalog, target, encodeToFour, settings, silentLogger());
  assert.deepEqual(
    [second.scanned, second.alreadyThere, second.encoded, second.targetCount, second.switched],
    [50, 40, 10, 50, true],
  );
  assert.equal(await catalog.activeVersion(), 'e-new');

  const store = await openStore(options, target, silentLogger());
  t.after(() => store.close());
  const got = (await store.get([records[7]?.id as string])).get(records[7]?.id as string);
  assert.deepEqual(got?.vector, (await encodeToFour([records[7]?.text as string]))[0]);
  assert.equal(got?.lastSeenMs, records[7]?.lastSeenMs, 'sightings are carried over');
  assert.deepEqual(
    (await catalog.versions()).map((v) => [v.encoderVersion, v.dimension, v.active]),
    [
      ['e-new', 4, true],
      ['e-old', 8, false],
    ],
  );
  await assert.rejects(catalog.drop('e-new'), /active one/);
  await catalog.drop('e-old');
  assert.deepEqual(
    (await catalog.versions()).map((v) => v.encoderVersion),
    ['e-new'],
  );
  await assert.rejects(catalog.drop('e-old'), /no encoder version e-old/);
});

test('durations read as the prune command takes them; bad ones name the flag', () => {
  assert.equal(parseDuration('30d', 'older-than'), 30 * 86_400_000);
  assert.equal(parseDuration('90m', 'older-than'), 90 * 60_000);
  assert.equal(parseDuration('1.5h', 'older-than'), 5_400_000);
  assert.throws(() => parseDuration('30', 'older-than'), /--older-than is "30"/);
  assert.throws(() => parseDuration('0d', 'older-than'), /positive/);
});
