/** Whether a Kafka broker answers: shared by the launcher and the tests' skip check. */
import net from 'node:net';
import kafkajs from 'kafkajs';

/** True when the brokers answer a cluster description within a few seconds. */
export async function brokerAnswers(brokers: string[], connectionTimeoutMs = 1_500): Promise<boolean> {
  const probe = new kafkajs.Kafka({
    brokers,
    clientId: 'bahe-test-probe',
    connectionTimeout: connectionTimeoutMs,
    requestTimeout: 3_000,
    retry: { retries: 1 },
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = probe.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** True when something on 127.0.0.1 accepts connections on `port`. */
export async function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True when a process with this pid runs on this machine (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  // kill(0) and negative pids would signal whole process groups: no pid names them.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
