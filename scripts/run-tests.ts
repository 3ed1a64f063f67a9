/**
 * `npm test`: provides a Kafka broker for the whole test run, runs `node --test` with
 * BAHE_KAFKA_BROKERS pointing at it, and stops what it started. Arguments go to `node --test`
 * (default: every test under dist/test/); the exit status is the tests'. See README, The tests' Kafka broker.
 *
 * Broker modes (BAHE_TEST_BROKER): BAHE_KAFKA_BROKERS set -> that broker; `container` -> the local
 * Kafka image through testcontainers; `local` -> scripts/kafka's KRaft broker; `none` -> no broker,
 * Kafka tests skip; `auto` (default) -> container when possible, else local.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { parseOptions } from '../src/config/options.js';
import { createLogger } from '../src/log.js';
import type { TestBroker } from './test-broker/broker.js';
import { chooseBroker } from './test-broker/choose.js';
import { containerUnavailable, startContainerBroker } from './test-broker/container-broker.js';
import { startLocalBroker } from './test-broker/local-broker.js';
import { TEST_BROKER_OPTION_SPECS } from './test-broker/options.js';

const SIGNAL_STATUS: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

const log = createLogger().child({ unit: 'test-broker' });
type TestBrokerOptions = ReturnType<typeof parseOptions<typeof TEST_BROKER_OPTION_SPECS>>['options'];

async function startBroker(options: TestBrokerOptions): Promise<TestBroker | undefined> {
  const choice = await chooseBroker(options.testBroker, {
    externalBrokers: process.env.BAHE_KAFKA_BROKERS,
    containerUnavailable: () => containerUnavailable(options.kafkaImage),
  });
  log.info({ mode: choice.mode, reason: choice.reason }, 'test broker chosen');
  const startTimeoutS = options.testBrokerStartTimeoutS;
  switch (choice.mode) {
    case 'external':
    case 'none':
      return undefined;
    case 'container':
      return startContainerBroker(
        {
          image: options.kafkaImage,
          port: options.testKafkaPort,
          portFixed: process.env.BAHE_TEST_KAFKA_PORT !== undefined,
          startTimeoutMs: startTimeoutS * 1000,
        },
        log,
      );
    case 'local':
      return startLocalBroker({ port: options.kafkaPort, startTimeoutS }, log);
  }
}

/** `node --test` with the caller's arguments; without a file or folder among them, every test in dist/test/. */
function testArguments(argv: string[]): string[] {
  const hasPath = argv.some((arg) => !arg.startsWith('-'));
  const hasReporter = argv.some((arg) => arg.startsWith('--test-reporter'));
  return [
    '--test',
    ...(hasReporter ? [] : ['--test-reporter=spec']),
    ...argv,
    ...(hasPath ? [] : ['dist/test/']),
  ];
}

function runTests(env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<number> } {
  const child = spawn(process.execPath, testArguments(process.argv.slice(2)), { env, stdio: 'inherit' });
  const done = new Promise<number>((resolve) => {
    child.once('error', (err) => {
      log.error({ err }, 'could not start node --test');
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? SIGNAL_STATUS[signal ?? ''] ?? 1));
  });
  return { child, done };
}

async function main(): Promise<number> {
  let broker: TestBroker | undefined;
  let child: ChildProcess | undefined;
  let interrupted: NodeJS.Signals | undefined;

  // The first signal is passed to the tests and the broker is still stopped after them; a second one
  // stops the broker at once and exits.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted !== undefined) {
      log.warn({ signal }, 'second signal: stopping the test broker now');
      child?.kill('SIGKILL');
      void (broker?.stop() ?? Promise.resolve()).finally(() => process.exit(SIGNAL_STATUS[signal] ?? 1));
      return;
    }
    interrupted = signal;
    log.warn({ signal }, 'interrupted: stopping the tests, then the test broker');
    child?.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  try {
    const startedAt = Date.now();
    // Checked inside the try, so that a bad setting is reported like any other failure to start.
    const options = parseOptions(TEST_BROKER_OPTION_SPECS, [], process.env).options;
    broker = await startBroker(options);
    const brokers = broker?.brokers ?? process.env.BAHE_KAFKA_BROKERS;
    if (broker !== undefined) {
      log.info({ kind: broker.kind, brokers, startMs: Date.now() - startedAt }, 'test broker ready');
    }
    if (interrupted !== undefined) return SIGNAL_STATUS[interrupted] ?? 1;

    const env = { ...process.env };
    if (options.testBroker === 'none' && brokers === undefined) {
      // No broker: point the tests at a port nothing serves, so that Kafka tests skip at once.
      env.BAHE_KAFKA_BROKERS = '127.0.0.1:1';
    } else if (brokers !== undefined) {
      env.BAHE_KAFKA_BROKERS = brokers;
    }
    const run = runTests(env);
    child = run.child;
    const status = await run.done;
    return interrupted === undefined ? status : (SIGNAL_STATUS[interrupted] ?? status);
  } finally {
    if (broker?.startedHere) {
      const stoppingAt = Date.now();
      await broker.stop();
      log.info({ kind: broker.kind, stopMs: Date.now() - stoppingAt }, 'test broker stopped');
    }
  }
}

main().then(
  (status) => process.exit(status),
  (err: unknown) => {
    log.error({ err }, 'the test run could not start');
    process.exit(1);
  },
);
