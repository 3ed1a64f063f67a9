/**
 * The launcher behind npm test, run as a real child process over small test files: its exit status is
 * the tests', and a broker it started is gone afterwards, also after Ctrl-C.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { getContainerRuntimeClient } from 'testcontainers';
import { containerUnavailable } from '../../scripts/test-broker/container-broker.js';
import { brokerAnswers, portTaken } from '../../scripts/test-broker/probe.js';
import { repoRoot, tempDir } from '../helpers/data.js';

const launcher = path.join(repoRoot, 'dist', 'scripts', 'run-tests.js');
const kafkajsUrl = pathToFileURL(path.join(repoRoot, 'node_modules', 'kafkajs', 'index.js')).href;
const kafkaJars = path.join(process.env.BAHE_CACHE ?? path.join(os.homedir(), '.cache', 'bahe'), 'kafka');

/** A test file that passes when a broker answers at BAHE_KAFKA_BROKERS, then waits to be interrupted. */
const BROKER_CHECK = `
import test from 'node:test';
import kafkajs from '${kafkajsUrl}';
test('a broker answers at BAHE_KAFKA_BROKERS', async () => {
  const admin = new kafkajs.Kafka({ brokers: process.env.BAHE_KAFKA_BROKERS.split(','), logLevel: 0 }).admin();
  await admin.connect();
  await admin.describeCluster();
  await admin.disconnect();
  console.log('BROKER-ANSWERED ' + process.env.BAHE_KAFKA_BROKERS);
  if (process.env.WAIT_FOR_SIGNAL) await new Promise((resolve) => setTimeout(resolve, 120_000));
});
`;

interface Launch {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  exited: () => boolean;
}

/** Starts the launcher on `files` with `env` on top of a copy of ours that names no broker. */
function launch(files: string[], env: Record<string, string>): Launch {
  const base = { ...process.env };
  delete base.BAHE_KAFKA_BROKERS;
  delete base.BAHE_TEST_BROKER;
  // Set by node --test in every test file's process; a nested node --test that sees it runs no files.
  delete base.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [launcher, ...files], { env: { ...base, ...env }, cwd: repoRoot });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  return { child, output: () => output, exit, exited: () => exited };
}

async function waitForOutput(run: Launch, marker: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!run.output().includes(marker)) {
    if (Date.now() > deadline)
      throw new Error(`no "${marker}" within ${timeoutMs} ms; output:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A port that is free on 127.0.0.1, with the next one (the controller's) free too. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    if (!(await portTaken(port)) && !(await portTaken(port + 1))) return port;
  }
}

/**
 * Runs the launcher with `env` over a test that waits once the broker at 127.0.0.1:`port` answered,
 * then Ctrl-C: the launcher must exit with 130 and leave nothing listening on the port.
 */
async function interruptOnceBrokerAnswers(
  dir: string,
  port: number,
  env: Record<string, string>,
): Promise<void> {
  const check = path.join(dir, 'broker.test.mjs');
  await writeFile(check, BROKER_CHECK);
  const run = launch([check], { ...env, WAIT_FOR_SIGNAL: '1' });
  await waitForOutput(run, `BROKER-ANSWERED 127.0.0.1:${port}`, 150_000);
  run.child.kill('SIGINT');
  assert.equal(await run.exit, 130, run.output());
  assert.equal(await portTaken(port), false, 'the broker still listens after the run');
}

test("the exit status is the tests': 0 when they pass, 1 when one fails", async () => {
  const tmp = await tempDir();
  try {
    const passing = path.join(tmp.dir, 'pass.test.mjs');
    const failing = path.join(tmp.dir, 'fail.test.mjs');
    await writeFile(passing, "import test from 'node:test';\ntest('passes', () => {});\n");
    await writeFile(
      failing,
      "import test from 'node:test';\ntest('fails', () => { throw new Error('no'); });\n",
    );
    const env = { BAHE_TEST_BROKER: 'none' };
    assert.equal(await launch([passing], env).exit, 0);
    const failed = launch([failing], env);
    assert.equal(await failed.exit, 1);
    assert.match(failed.output(), /fails/);
  } finally {
    await tmp.cleanup();
  }
});

const noJava =
  spawnSync('java', ['-version']).status === 0 ? false : 'java not found; install a Java 17 runtime';
const noJars = existsSync(kafkaJars)
  ? false
  : `no Kafka jars in ${kafkaJars}; run npm run kafka:start once to fetch them`;

test('local mode: a broker the launcher started is stopped and its state removed, also after Ctrl-C', {
  skip: noJava || noJars,
  timeout: 180_000,
}, async () => {
  const tmp = await tempDir();
  try {
    const port = await freePortPair();
    const stateDir = path.join(tmp.dir, 'kafka-state');
    await interruptOnceBrokerAnswers(tmp.dir, port, {
      BAHE_TEST_BROKER: 'local',
      BAHE_KAFKA_PORT: String(port),
      BAHE_KAFKA_STATE_DIR: stateDir,
    });
    assert.equal(existsSync(stateDir), false, 'the broker state folder is still there');
  } finally {
    await tmp.cleanup();
  }
});

test('local mode: a broker that already runs is used and left running', {
  skip: noJava || noJars,
  timeout: 180_000,
}, async () => {
  const tmp = await tempDir();
  const port = await freePortPair();
  const env = {
    ...process.env,
    BAHE_KAFKA_PORT: String(port),
    BAHE_KAFKA_STATE_DIR: path.join(tmp.dir, 'kafka'),
  };
  const script = (name: string, ...args: string[]) =>
    spawnSync('bash', [path.join(repoRoot, 'scripts', 'kafka', name), ...args], { env, encoding: 'utf8' });
  try {
    const started = script('start.sh');
    assert.equal(started.status, 0, started.stderr);
    const check = path.join(tmp.dir, 'broker.test.mjs');
    await writeFile(check, BROKER_CHECK);
    const run = launch([check], { BAHE_TEST_BROKER: 'local', BAHE_KAFKA_PORT: String(port) });
    assert.equal(await run.exit, 0, run.output());
    assert.equal(await brokerAnswers([`127.0.0.1:${port}`]), true, 'the running broker was stopped');
  } finally {
    script('stop.sh', '--purge');
    await tmp.cleanup();
  }
});

const kafkaImage = process.env.BAHE_KAFKA_IMAGE ?? 'bahe/kafka:3.9.2';
const noContainer = await containerUnavailable(kafkaImage);

test('container mode: the broker container is removed after the run, also after Ctrl-C', {
  skip: noContainer === undefined ? false : `container broker unavailable: ${noContainer}`,
  timeout: 180_000,
}, async () => {
  const tmp = await tempDir();
  try {
    const port = await freePortPair();
    await interruptOnceBrokerAnswers(tmp.dir, port, {
      BAHE_TEST_BROKER: 'container',
      BAHE_TEST_KAFKA_PORT: String(port),
    });
    const { dockerode } = (await getContainerRuntimeClient()).container;
    const filters = { label: [`org.bahe-stream.test-broker-port=${port}`] };
    assert.deepEqual(
      await dockerode.listContainers({ all: true, filters }),
      [],
      'a broker container is left',
    );
  } finally {
    await tmp.cleanup();
  }
});
