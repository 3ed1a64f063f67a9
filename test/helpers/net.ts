import net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the system's pick), for servers a test starts by port. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A port on 127.0.0.1 where nothing listens: taken and released, so connections are refused. */
export const closedPort = freePort;
