/**
 * The local broker: the single-node KRaft broker of scripts/kafka, from the Kafka jars and the host's
 * Java. One that already answers on the port is used and left running; one the launcher starts is
 * stopped, and its state folder removed, when the run ends.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BaheError, ErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { TestBroker } from './broker.js';
import { brokerAnswers, processAlive } from './probe.js';

/** Runs scripts/kafka/<script> with the port in its environment; its output goes to our standard error. */
function runKafkaScript(script: string, args: string[], port: number, timeoutS: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(PACKAGE_ROOT, 'scripts', 'kafka', script), ...args], {
      env: { ...process.env, BAHE_KAFKA_PORT: String(port), BAHE_KAFKA_START_TIMEOUT_S: String(timeoutS) },
      stdio: ['ignore', process.stderr, process.stderr],
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

/**
 * True when start.sh's pid file for `port` names a live process: a broker that start.sh started earlier
 * (perhaps for someone else) and that is only slow to answer. It is used, never stopped.
 */
function startedEarlier(port: number): boolean {
  const stateDir =
    process.env.BAHE_KAFKA_STATE_DIR ?? path.join(process.env.TMPDIR ?? os.tmpdir(), `bahe-kafka-${port}`);
  try {
    return processAlive(Number(readFileSync(path.join(stateDir, 'broker.pid'), 'utf8').trim()));
  } catch {
    return false;
  }
}

export interface LocalBrokerOptions {
  port: number;
  startTimeoutS: number;
}

export async function startLocalBroker(options: LocalBrokerOptions, log: Logger): Promise<TestBroker> {
  const brokers = `127.0.0.1:${options.port}`;
  if ((await brokerAnswers([brokers], 5_000)) || startedEarlier(options.port)) {
    log.info({ brokers }, 'a broker already runs there; using it and leaving it running');
    return { brokers, kind: 'running broker', startedHere: false, stop: async () => undefined };
  }

  const stop = async () => {
    const stopped = await runKafkaScript('stop.sh', ['--purge'], options.port, options.startTimeoutS);
    if (stopped !== 0)
      log.warn({ port: options.port }, 'scripts/kafka/stop.sh failed; stop the broker by hand');
  };
  const status = await runKafkaScript('start.sh', [], options.port, options.startTimeoutS);
  if (status !== 0) {
    // An interrupted start.sh may leave its broker running; it is ours, so it goes.
    await stop();
    throw new BaheError(
      ErrorCode.KAFKA_FAILED,
      `scripts/kafka/start.sh exited with status ${status} (its reason is above); fix that, or set ` +
        'BAHE_KAFKA_BROKERS to a broker, or BAHE_TEST_BROKER=none to run without one',
      { context: { port: options.port } },
    );
  }
  return {
    brokers,
    kind: 'local KRaft broker',
    startedHere: true,
    stop,
  };
}
