/**
 * What these tests cover: the retry, concurrency and error-classification rules this project wraps
 * around the Qdrant client, checked against a tiny HTTP server on 127.0.0.1 that answers with fixed
 * statuses (503, 401, 400, slow 200s). It is not a Qdrant and says nothing about Qdrant's own
 * behavior; the store itself is checked against a real Qdrant in qdrant.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { QdrantConnection } from '../../src/store/qdrant-connection.js';

type Handler = (request: IncomingMessage, response: ServerResponse, index: number) => void;

/** Serves `handler` on a loopback port until the test ends; returns its url and the requests seen. */
async function loopbackServer(t: TestContext, handler: Handler) {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    handler(request, response, requests.length - 1);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

const EXISTS = { result: { exists: true }, status: 'ok', time: 0 };
const fast = { retries: 3, retryBaseDelayMs: 1, retryMaxDelayMs: 5 };

test('503 answers are retried and the call succeeds once the server recovers', async (t) => {
  const { url, requests } = await loopbackServer(t, (_request, response, index) =>
    index < 2 ? reply(response, 503, { status: { error: 'busy' } }) : reply(response, 200, EXISTS),
  );
  const connection = new QdrantConnection({ url, ...fast });
  const answer = await connection.call('collection exists', 'c', (client) => client.collectionExists('c'));
  assert.deepEqual(answer, { exists: true });
  assert.equal(requests.length, 3);
});

test('401 is not retried and says to check the API key; the key goes in the api-key header', async (t) => {
  const { url, requests } = await loopbackServer(t, (_request, response) =>
    reply(response, 401, { status: { error: 'Invalid api-key' } }),
  );
  const connection = new QdrantConnection({ url, apiKey: 'not-the-key', ...fast });
  await assert.rejects(
    connection.call('collection exists', 'c', (client) => client.collectionExists('c')),
    (error) => {
      assert.ok(isBaheError(error, 'BAHE_STORE_FAILED'), String(error));
      assert.equal(error.retryable, false);
      assert.match(error.message, /--qdrant-api-key/);
      assert.doesNotMatch(error.message, /not-the-key/);
      return true;
    },
  );
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.headers['api-key'], 'not-the-key');
});

test("a dimension refusal becomes BAHE_STORE_MISMATCH with the server's reason, not retried", async (t) => {
  const { url, requests } = await loopbackServer(t, (_request, response) =>
    reply(response, 400, {
      status: { error: 'Wrong input: Vector dimension error: expected dim: 16, got 32' },
    }),
  );
  const connection = new QdrantConnection({ url, ...fast });
  await assert.rejects(
    connection.call('upsert', 'c', (client) => client.upsert('c', { points: [], wait: true })),
    (error) => isBaheError(error, 'BAHE_STORE_MISMATCH') && /expected dim: 16, got 32/.test(error.message),
  );
  assert.equal(requests.length, 1);
});

test('a server that cannot be reached is retried, then fails as retryable naming the url', async (t) => {
  const { url, server } = await loopbackServer(t, () => {});
  server.close();
  await once(server, 'close');
  const connection = new QdrantConnection({ url, ...fast });
  await assert.rejects(
    connection.call('collection exists', 'c', (client) => client.collectionExists('c')),
    (error) => {
      assert.ok(isBaheError(error, 'BAHE_STORE_FAILED'), String(error));
      assert.equal(error.retryable, true);
      assert.match(error.message, /could not be reached \(ECONNREFUSED\)/);
      assert.ok(error.message.includes(url), error.message);
      return true;
    },
  );
});

test('no more requests are in flight at once than maxConcurrentRequests', async (t) => {
  let inFlight = 0;
  let peak = 0;
  const { url, requests } = await loopbackServer(t, (_request, response) => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    setTimeout(() => {
      inFlight -= 1;
      reply(response, 200, EXISTS);
    }, 20);
  });
  const connection = new QdrantConnection({ url, maxConcurrentRequests: 3 });
  await Promise.all(
    Array.from({ length: 15 }, () =>
      connection.call('collection exists', 'c', (client) => client.collectionExists('c')),
    ),
  );
  assert.equal(requests.length, 15);
  assert.equal(peak, 3);
});

test('a url without a port means its scheme default, and a path is kept as a prefix', async (t) => {
  const { url, requests } = await loopbackServer(t, (_request, response) => reply(response, 200, EXISTS));
  const connection = new QdrantConnection({ url: `${url}/qdrant/`, ...fast });
  await connection.call('collection exists', 'c', (client) => client.collectionExists('c'));
  assert.equal(requests[0]?.url, '/qdrant/collections/c/exists');
  assert.equal(new QdrantConnection({ url: 'https://qdrant.example' }).url, 'https://qdrant.example');
});
