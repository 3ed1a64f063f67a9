/**
 * The store conformance suite on a real Qdrant, plus what only Qdrant has: the alias switch and the
 * splitting of large upserts. Runs when a Qdrant is reachable (see test/helpers/qdrant.ts), and is
 * reported as skipped, with how to enable it, otherwise. Every test makes its own collections and
 * deletes them.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { silentLogger } from '../../src/log.js';
import { QdrantStore } from '../../src/store/qdrant.js';
import { QdrantCatalog } from '../../src/store/qdrant-catalog.js';
import { openStore } from '../../src/store/select.js';
import { qdrantForTests, uniquePrefix } from '../helpers/qdrant.js';
import { runStoreConformance } from './conformance.js';
import { makeRecords } from './records.js';

const server = await qdrantForTests();
const skip = 'skip' in server ? server.skip : false;
const live = 'skip' in server ? undefined : server;
after(async () => live?.stop());

/** Deletes every collection and alias whose name starts with `prefix`. */
async function removeCollections(prefix: string): Promise<void> {
  if (live === undefined) return;
  const client = new QdrantClient({
    url: live.url,
    checkCompatibility: false,
    ...(live.apiKey === undefined ? {} : { headers: { 'api-key': live.apiKey } }),
  });
  const { aliases } = await client.getAliases();
  for (const alias of aliases.filter((a) => a.alias_name.startsWith(prefix))) {
    await client.updateCollectionAliases({ actions: [{ delete_alias: { alias_name: alias.alias_name } }] });
  }
  const { collections } = await client.getCollections();
  for (const { name } of collections.filter((c) => c.name.startsWith(prefix)))
    await client.deleteCollection(name);
}

runStoreConformance(
  'qdrant',
  async () => {
    const prefix = uniquePrefix();
    return {
      // Qdrant keeps unit vectors; the norm in the payload restores the vector to float32 rounding.
      vectorTolerance: 1e-6,
      create: (binding) =>
        new QdrantStore({
          url: live?.url as string,
          ...(live?.apiKey === undefined ? {} : { apiKey: live.apiKey }),
          collection: `${prefix}__${binding.encoderVersion}`,
          ...binding,
        }),
      cleanup: () => removeCollections(prefix),
    };
  },
  { skip },
);

describe('qdrant store, server-specific', { skip }, () => {
  const storeOptions = (prefix: string) => ({
    store: 'qdrant',
    storeDir: '.unused',
    qdrantUrl: live?.url,
    qdrantApiKey: live?.apiKey,
    qdrantCollectionPrefix: prefix,
    qdrantTimeoutMs: 30_000,
    qdrantMaxConcurrentRequests: 4,
    qdrantRetries: 2,
    qdrantMaxRequestBytes: 64 * 1024,
  });

  test('an upsert larger than the request limit is split and every point arrives', async (t) => {
    const prefix = uniquePrefix();
    t.after(() => removeCollections(prefix));
    const store = await openStore(
      storeOptions(prefix),
      { encoderVersion: 'e-split', dimension: 384 },
      silentLogger(),
    );
    t.after(() => store.close());
    // 600 points of 384 values are about 5 MB of JSON: at least 75 requests of at most 64 KiB.
    await store.upsert(makeRecords(600, 384));
    assert.equal(await store.count(), 600);
  });

  test('the alias names the first version opened and switches atomically to a backfilled one', async (t) => {
    const prefix = uniquePrefix();
    t.after(() => removeCollections(prefix));
    const first = await openStore(
      storeOptions(prefix),
      { encoderVersion: 'e-one', dimension: 8 },
      silentLogger(),
    );
    await first.upsert(makeRecords(3, 8));
    await first.close();

    await assert.rejects(
      openStore(storeOptions(prefix), { encoderVersion: 'e-two', dimension: 4 }, silentLogger()),
      /serves encoder version e-one/,
    );
    const catalog = new QdrantCatalog({ url: live?.url as string, collectionPrefix: prefix });
    const second = catalog.store({ encoderVersion: 'e-two', dimension: 4 });
    await second.open();
    await second.close();
    await catalog.switchActive('e-two');
    assert.equal(await catalog.activeVersion(), 'e-two');
    assert.deepEqual(
      (await catalog.versions()).map((v) => [v.encoderVersion, v.dimension, v.active]),
      [
        ['e-one', 8, false],
        ['e-two', 4, true],
      ],
    );
    await assert.rejects(catalog.drop('e-two'), /active one/);
    await catalog.drop('e-one');
    assert.deepEqual(
      (await catalog.versions()).map((v) => v.encoderVersion),
      ['e-two'],
    );
  });
});
