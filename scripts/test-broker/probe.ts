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
