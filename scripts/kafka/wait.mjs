// Waits until the broker at argv[2] answers a metadata request, or the JVM with pid argv[3] exits, or
// argv[4] seconds pass. Exit status 0 when it answers.
import { Kafka, logLevel } from 'kafkajs';

const [broker, pidText, timeoutText] = process.argv.slice(2);
const pid = Number(pidText);
const deadline = Date.now() + 1000 * Number(timeoutText ?? 90);
const kafka = new Kafka({
  clientId: 'bahe-kafka-wait',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  retry: { retries: 0 },
});

const alive = () => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

while (Date.now() < deadline) {
  if (!alive()) {
    console.error(`kafka: broker process ${pid} exited during start-up`);
    process.exit(2);
  }
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.disconnect();
    if (cluster.brokers.length > 0 && cluster.controller !== null) process.exit(0);
  } catch {
    await admin.disconnect().catch(() => {});
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
console.error(`kafka: no answer from ${broker} within ${timeoutText} s`);
process.exit(1);
