/**
 * bahe-stream/testing: starts the bahe-stream image with testcontainers for another project's
 * integration tests, wired to a given Kafka and store, and waits until its /readyz answers 200.
 *
 * The container shares the host's network, so the service reaches brokers and Qdrant on 127.0.0.1
 * and serves its endpoints there. testcontainers (version 11 on Node 20) is an optional peer
 * dependency: only this module loads it.
 */
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { StartedTestContainer } from 'testcontainers';
import { BaheError, ErrorCode } from '../errors.js';
import { ContainerLog } from './container-log.js';
import { ReadyzWaitStrategy } from './readyz-wait.js';

export type BaheStreamCommand = 'encoder' | 'trainer' | 'serve';

/** The embedded store in a host folder (mounted at the same path), or a Qdrant server. */
export type BaheStreamStore =
  | { dir: string }
  | { qdrantUrl: string; qdrantApiKey?: string; collectionPrefix?: string };

export interface StartBaheStreamOptions {
  command: BaheStreamCommand;
  /** host:port of the brokers, as the host sees them (the container uses the host's network). */
  kafkaBrokers: string | readonly string[];
  store: BaheStreamStore;
  /** Default: BAHE_IMAGE, else `bahe-stream` (built from deploy/Dockerfile). */
  image?: string;
  /** Port of /healthz, /readyz, /metrics (and the scorer's /predict) on 127.0.0.1. Default: a free one. */
  opsPort?: number;
  /**
   * Host folder of the trainer's checkpoints, mounted at the same path: the trainer's --state-dir, or
   * for the scorer the trainer's folder whose checkpoints/ it serves.
   */
  stateDir?: string;
  /** More BAHE_* settings (topics, group id, threads...); they win over the ones set here. */
  env?: Record<string, string>;
  /** More command-line flags, after the command. */
  args?: readonly string[];
  /** More container labels, e.g. to find this test's containers. */
  labels?: Record<string, string>;
  /** user[:group] the service runs as. Default: this process's, so files in mounted folders stay yours. */
  user?: string;
  /** How long the container may take to become ready. */
  startupTimeoutMs?: number;
}

export interface StartedBaheStream {
  /** http://127.0.0.1:<opsPort>, the service's endpoints. */
  url: string;
  opsPort: number;
  container: StartedTestContainer;
  /** Everything the container wrote to standard output and error so far (its JSON log lines). */
  logs(): string;
  /** SIGTERM, up to 30 s to drain, then removal; gives the service's exit status. Repeatable. */
  stop(): Promise<{ exitCode: number }>;
}

const DEFAULT_IMAGE = 'bahe-stream';
const DEFAULT_STARTUP_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 30_000;
/** Containers this module started carry this label, so leftovers of a killed run can be found. */
export const BAHE_TESTING_LABEL = 'org.bahe-stream.testing';
const COMMANDS: readonly BaheStreamCommand[] = ['encoder', 'trainer', 'serve'];

/** Starts `bahe <command>` from the image and resolves once its /readyz answers 200. */
export async function startBaheStream(options: StartBaheStreamOptions): Promise<StartedBaheStream> {
  const checked = checkOptions(options);
  const { GenericContainer } = await loadTestcontainers();
  const opsPort = options.opsPort ?? (await freePort());
  const url = `http://127.0.0.1:${opsPort}`;
  const log = new ContainerLog();

  let container = new GenericContainer(checked.image)
    .withNetworkMode('host')
    .withCommand([options.command, ...(options.args ?? [])])
    .withEnvironment({ ...serviceEnv(options, opsPort), ...options.env })
    .withLabels({ ...options.labels, [BAHE_TESTING_LABEL]: options.command })
    .withLogConsumer((stream: Readable) => log.follow(stream))
    .withWaitStrategy(new ReadyzWaitStrategy(`${url}/readyz`, log))
    .withStartupTimeout(options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS);
  if (checked.user !== undefined) container = container.withUser(checked.user);
  if (checked.mounts.length > 0) {
    // Made here, so that the runtime does not create them owned by root.
    for (const dir of checked.mounts) await mkdir(dir, { recursive: true });
    container = container.withBindMounts(checked.mounts.map((dir) => ({ source: dir, target: dir })));
  }

  let started: StartedTestContainer;
  try {
    started = await container.start();
  } catch (err) {
    if (err instanceof BaheError) throw err;
    throw new BaheError(
      ErrorCode.CONTAINER_FAILED,
      `the ${options.command} container of ${checked.image} did not start: ${messageOf(err)}. Is a ` +
        'container runtime running, and is the image present (docker build -f deploy/Dockerfile ' +
        `-t ${checked.image} .) or in a registry you can pull from?`,
      { cause: err, context: { image: checked.image, command: options.command } },
    );
  }

  return {
    url,
    opsPort,
    container: started,
    logs: () => log.text(),
    stop: onceOnly(() => stopAndRemove(started)),
  };
}

/**
 * Undefined when a container runtime answers and holds `image` (default as in startBaheStream),
 * otherwise why not: for `test(name, { skip: await baheStreamSkipReason() }, ...)`.
 */
export async function baheStreamSkipReason(image?: string): Promise<string | undefined> {
  const name = image ?? process.env.BAHE_IMAGE ?? DEFAULT_IMAGE;
  let testcontainers: typeof import('testcontainers');
  try {
    testcontainers = await loadTestcontainers();
  } catch (err) {
    return messageOf(err);
  }
  try {
    const client = await testcontainers.getContainerRuntimeClient();
    if (await client.image.exists(testcontainers.ImageName.fromString(name))) return undefined;
    return `the image ${name} is not present; build it in a bahe-stream checkout with docker build -f deploy/Dockerfile -t ${name} . (or set BAHE_IMAGE)`;
  } catch (err) {
    return `no container runtime answers (${messageOf(err)}); start Docker, or set DOCKER_HOST`;
  }
}

interface CheckedOptions {
  image: string;
  user: string | undefined;
  mounts: string[];
}

/** Fails fast, naming the field, before anything is started. */
function checkOptions(options: StartBaheStreamOptions): CheckedOptions {
  const invalid = (field: string, what: string) =>
    new BaheError(ErrorCode.CONFIG_INVALID, `startBaheStream: ${field} ${what}`, { context: { field } });

  if (!COMMANDS.includes(options.command)) throw invalid('command', `must be one of ${COMMANDS.join(', ')}`);
  const brokers = brokerList(options.kafkaBrokers);
  if (brokers.length === 0) throw invalid('kafkaBrokers', 'must name at least one host:port');
  const port = options.opsPort;
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65_535)) {
    throw invalid('opsPort', 'must be an integer from 1 to 65535');
  }
  if (options.command !== 'encoder' && options.stateDir === undefined) {
    throw invalid('stateDir', `is required for ${options.command}: the folder of the trainer's checkpoints`);
  }

  const mounts: string[] = [];
  if ('dir' in options.store) mounts.push(path.resolve(options.store.dir));
  else if (!/^https?:\/\//.test(options.store.qdrantUrl))
    throw invalid('store.qdrantUrl', 'must be an http(s) URL');
  if (options.stateDir !== undefined) mounts.push(path.resolve(options.stateDir));

  return {
    image: options.image ?? process.env.BAHE_IMAGE ?? DEFAULT_IMAGE,
    user: options.user ?? callerUser(),
    mounts,
  };
}

/** The settings that wire the service to the brokers, the store and its endpoints port. */
function serviceEnv(options: StartBaheStreamOptions, opsPort: number): Record<string, string> {
  const env: Record<string, string> = {
    BAHE_KAFKA_BROKERS: brokerList(options.kafkaBrokers).join(','),
    BAHE_OPS_HOST: '127.0.0.1',
    BAHE_OPS_PORT: String(opsPort),
    BAHE_LOG_FORMAT: 'json',
  };

  const store = options.store;
  if ('dir' in store) {
    Object.assign(env, { BAHE_STORE: 'embedded', BAHE_STORE_DIR: path.resolve(store.dir) });
  } else {
    Object.assign(env, { BAHE_STORE: 'qdrant', BAHE_QDRANT_URL: store.qdrantUrl });
    if (store.qdrantApiKey !== undefined) env.BAHE_QDRANT_API_KEY = store.qdrantApiKey;
    if (store.collectionPrefix !== undefined) env.BAHE_QDRANT_COLLECTION_PREFIX = store.collectionPrefix;
  }

  if (options.stateDir !== undefined) {
    const stateDir = path.resolve(options.stateDir);
    if (options.command === 'trainer') env.BAHE_STATE_DIR = stateDir;
    if (options.command === 'serve') env.BAHE_CHECKPOINT_DIR = path.join(stateDir, 'checkpoints');
  }
  return env;
}

function brokerList(brokers: string | readonly string[]): string[] {
  const list = typeof brokers === 'string' ? brokers.split(',') : [...brokers];
  return list.map((b) => b.trim()).filter((b) => b !== '');
}

/** This process's uid:gid, so the service can write the mounted folders; undefined where there is none. */
function callerUser(): string | undefined {
  if (process.getuid === undefined || process.getgid === undefined) return undefined;
  return `${process.getuid()}:${process.getgid()}`;
}

async function stopAndRemove(started: StartedTestContainer): Promise<{ exitCode: number }> {
  const { getContainerRuntimeClient } = await loadTestcontainers();
  await started.stop({ timeout: STOP_GRACE_MS, remove: false });
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(started.getId());
  const exitCode = (await client.container.inspect(container)).State.ExitCode;
  await client.container.remove(container, { removeVolumes: true });
  return { exitCode };
}

function onceOnly<T>(run: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= run();
    return result;
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function loadTestcontainers(): Promise<typeof import('testcontainers')> {
  try {
    return await import('testcontainers');
  } catch (err) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      'bahe-stream/testing needs the testcontainers package: npm install --save-dev testcontainers@11 ' +
        '(version 11 runs on Node 20; 12 needs Node 22)',
      { cause: err },
    );
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}
