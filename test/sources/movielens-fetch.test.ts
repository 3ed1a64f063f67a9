import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { openMovieLens100k } from '../../src/sources/movielens.js';
import { extractMovieLensArchive, fetchMovieLens100k } from '../../src/sources/movielens-fetch.js';
import { tempDir } from '../helpers/data.js';
import { buildZip, movieLensData, movieLensItems } from './made-up-data.js';

const titles = new Map([
  [1, 'Made-Up Caf\u00e9 (1990)'],
  [2, 'Another Invention (1991)'],
]);
const data = movieLensData([
  [1, 1, 5, 100],
  [2, 2, 2, 90],
]);
const archive = buildZip([
  { name: 'ml-100k/README', data: Buffer.from('made up'), deflate: false },
  { name: 'ml-100k/u.data', data, deflate: true },
  { name: 'ml-100k/u.item', data: movieLensItems(titles), deflate: true },
]);
const sha256 = createHash('sha256').update(archive).digest('hex');
const md5 = createHash('md5').update(archive).digest('hex');

const datasetInvalid = (pattern: RegExp) => (err: unknown) =>
  isBaheError(err, 'BAHE_DATASET_INVALID') && pattern.test(err.message);

/** Serves `body` on 127.0.0.1 and counts requests; closed by the returned function. */
async function serve(status: number, body: Buffer) {
  let requests = 0;
  const server = createServer((_, res) => {
    requests++;
    res.writeHead(status, { 'content-type': 'application/zip' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ml-100k.zip`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('a verified archive is extracted to u.data and u.item, byte for byte', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const zip = path.join(dir, 'ml-100k.zip');
    await writeFile(zip, archive);
    for (const checksums of [{ sha256 }, { md5 }, { sha256: sha256.toUpperCase(), md5 }]) {
      const out = await extractMovieLensArchive(zip, path.join(dir, 'out'), checksums);
      assert.deepEqual(await readFile(path.join(out, 'u.data')), data);
      assert.equal(
        (await readFile(path.join(out, 'u.item'), 'latin1')).split('|')[1],
        'Made-Up Caf\u00e9 (1990)',
      );
    }
  } finally {
    await cleanup();
  }
});

test('an archive whose checksum does not match is refused and nothing is extracted', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const zip = path.join(dir, 'ml-100k.zip');
    await writeFile(zip, archive);
    const out = path.join(dir, 'out');
    const wrong = '0'.repeat(64);
    await assert.rejects(
      extractMovieLensArchive(zip, out, { sha256: wrong }),
      datasetInvalid(/has sha256 [0-9a-f]{64}, expected 0{64}/),
    );
    await assert.rejects(
      extractMovieLensArchive(zip, out, { sha256, md5: 'f'.repeat(32) }),
      datasetInvalid(/has md5/),
    );
    assert.equal(existsSync(out), false);
    await assert.rejects(extractMovieLensArchive(zip, out, {}), (err: unknown) =>
      isBaheError(err, 'BAHE_CONFIG_INVALID'),
    );
    await assert.rejects(
      extractMovieLensArchive(zip, out, { sha256: 'abc' }),
      /checksums.sha256 must be 64 hex digits/,
    );
  } finally {
    await cleanup();
  }
});

test('an archive without u.item is not taken for MovieLens', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const partial = buildZip([{ name: 'ml-100k/u.data', data, deflate: true }]);
    const zip = path.join(dir, 'partial.zip');
    await writeFile(zip, partial);
    const checksums = { sha256: createHash('sha256').update(partial).digest('hex') };
    await assert.rejects(
      extractMovieLensArchive(zip, path.join(dir, 'out'), checksums),
      datasetInvalid(/has no u\.item/),
    );
  } finally {
    await cleanup();
  }
});

test('fetching downloads once into the cache, verifies, and the stream reads the result', async () => {
  const { dir, cleanup } = await tempDir();
  const server = await serve(200, archive);
  try {
    const cacheDir = path.join(dir, 'cache');
    const stream = await openMovieLens100k({ cacheDir, url: server.url, checksums: { sha256 } });
    assert.equal(stream.total, 4);
    const ids: string[] = [];
    for await (const { event } of stream) ids.push(event.eventId);
    assert.deepEqual(ids, ['ml100k:2:2:i', 'ml100k:2:2:b', 'ml100k:1:1:i', 'ml100k:1:1:b']);

    assert.equal(
      await fetchMovieLens100k({ cacheDir, url: server.url, checksums: { sha256 } }),
      path.join(cacheDir, 'ml-100k'),
    );
    assert.equal(server.requests(), 1);
  } finally {
    await server.close();
    await cleanup();
  }
});

test('a download that fails its checksum leaves nothing in the cache', async () => {
  const { dir, cleanup } = await tempDir();
  const server = await serve(200, archive);
  try {
    const cacheDir = path.join(dir, 'cache');
    // The default expects the published MD5 of the real archive, which the made-up one cannot match.
    await assert.rejects(
      fetchMovieLens100k({ cacheDir, url: server.url }),
      datasetInvalid(/has (md5|sha256) [0-9a-f]+, expected/),
    );
    assert.equal(existsSync(path.join(cacheDir, 'ml-100k.zip')), false);
    assert.equal(existsSync(path.join(cacheDir, 'ml-100k')), false);
  } finally {
    await server.close();
    await cleanup();
  }
});

test('an HTTP error is a retryable fetch failure', async () => {
  const { dir, cleanup } = await tempDir();
  const server = await serve(404, Buffer.from('gone'));
  try {
    await assert.rejects(
      fetchMovieLens100k({ cacheDir: dir, url: server.url, checksums: { sha256 } }),
      (err: unknown) => {
        return isBaheError(err, 'BAHE_DATASET_FETCH_FAILED') && err.retryable && /HTTP 404/.test(err.message);
      },
    );
  } finally {
    await server.close();
    await cleanup();
  }
});
