import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { choosePort } from '../../../scripts/test-broker/container-broker.js';
import { isBaheError } from '../../../src/errors.js';

/** Listens on 127.0.0.1 at a free port (below 65000, so pairs above it exist); returns it and a close. */
async function occupyPortPair(): Promise<{ port: number; close: () => Promise<void> }> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
    if (port < 65_000) return { port, close };
    await close();
  }
}

test('a taken container broker port moves to the next free pair above it, unless it was set outright', async () => {
  const taken = await occupyPortPair();
  try {
    const moved = await choosePort({ port: taken.port, portFixed: false });
    assert.ok(moved > taken.port && (moved - taken.port) % 2 === 0, `moved to ${moved} from ${taken.port}`);
    await assert.rejects(
      choosePort({ port: taken.port, portFixed: true }),
      (err) => isBaheError(err, 'BAHE_KAFKA_FAILED') && /BAHE_TEST_KAFKA_PORT/.test(err.message),
    );
  } finally {
    await taken.close();
  }
});

test('the controller port counts: a pair whose second port is taken is passed over', async () => {
  const taken = await occupyPortPair();
  try {
    const moved = await choosePort({ port: taken.port - 1, portFixed: false });
    assert.notEqual(moved, taken.port - 1);
  } finally {
    await taken.close();
  }
});
