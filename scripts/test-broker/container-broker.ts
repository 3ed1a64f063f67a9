/**
 * The container broker: the local Kafka image started through testcontainers on the host network, so
 * it listens on 127.0.0.1 like the local broker. The reaper container (Ryuk) cannot be pulled where no
 * registry is reachable, so it is disabled and the launcher removes the container itself; a container
 * whose launcher was killed outright is found by its labels (the launcher's pid is gone) and removed by
 * the next container run.
 */
import type { ContainerRuntimeClient, GenericContainer as GenericContainerType } from 'testcontainers';
import { BaheError, ErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { TestBroker } from './broker.js';
import { portTaken, processAlive } from './probe.js';

const PORT_LABEL = 'org.bahe-stream.test-broker-port';
const LAUNCHER_LABEL = 'org.bahe-stream.test-broker-launcher-pid';
/** Port pairs tried above the default one when it is taken, for runs side by side on one machine. */
const PORT_PAIRS_TRIED = 20;
/** KafkaRaftServer logs this once the broker and its controller accept clients. */
const STARTED_LOG = /Kafka Server started/;
const STOP_GRACE_MS = 5_000;

async function testcontainers(): Promise<typeof import('testcontainers')> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  return import('testcontainers');
}

/** Undefined when a container runtime answers and holds `image`; otherwise why the container path is closed. */
export async function containerUnavailable(image: string): Promise<string | undefined> {
  const { getContainerRuntimeClient, ImageName } = await testcontainers();
  let client: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
  try {
    client = await getContainerRuntimeClient();
  } catch {
    return 'no container runtime answers (see README, Containers, to start dockerd)';
  }
  if (!(await client.image.exists(ImageName.fromString(image)))) {
    return `the image ${image} is missing; build it with bash scripts/containers/build-images.sh`;
  }
  return undefined;
}

export interface ContainerBrokerOptions {
  image: string;
  port: number;
  /** True when the port was set outright: then it is used or refused, never moved. */
  portFixed: boolean;
  startTimeoutMs: number;
}

/** Removes broker containers whose launcher no longer runs. */
async function removeOrphans(
  dockerode: ContainerRuntimeClient['container']['dockerode'],
  log: Logger,
): Promise<void> {
  const ours = await dockerode.listContainers({ all: true, filters: { label: [LAUNCHER_LABEL] } });
  for (const info of ours) {
    const pid = Number(info.Labels[LAUNCHER_LABEL]);
    if (processAlive(pid)) continue;
    log.warn({ containerId: info.Id.slice(0, 12) }, 'removing a test broker container left by a killed run');
    await dockerode.getContainer(info.Id).remove({ force: true, v: true });
  }
}

/** The configured port when it and the next one are free, else (unless fixed) the next free pair above it. */
export async function choosePort(
  options: Pick<ContainerBrokerOptions, 'port' | 'portFixed'>,
): Promise<number> {
  const tries = options.portFixed ? 1 : PORT_PAIRS_TRIED;
  for (let port = options.port, i = 0; i < tries && port < 65_535; port += 2, i += 1) {
    if (!(await portTaken(port)) && !(await portTaken(port + 1))) return port;
  }
  throw new BaheError(
    ErrorCode.KAFKA_FAILED,
    `port ${options.port} on 127.0.0.1 (or the next one, its controller's) is taken` +
      (options.portFixed ? '' : `, and so are the ${PORT_PAIRS_TRIED - 1} pairs above it`) +
      '; set BAHE_TEST_KAFKA_PORT to a free port',
    { context: { port: options.port } },
  );
}

/** Starts the Kafka image (controller on the next port) and waits until the broker has started. */
export async function startContainerBroker(
  options: ContainerBrokerOptions,
  log: Logger,
): Promise<TestBroker> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await testcontainers();
  const client = await getContainerRuntimeClient();
  await removeOrphans(client.container.dockerode, log);
  const port = await choosePort(options);
  const label = String(port);

  const container: GenericContainerType = new GenericContainer(options.image)
    .withNetworkMode('host')
    .withEnvironment({ BAHE_KAFKA_PORT: label })
    .withLabels({ [PORT_LABEL]: label, [LAUNCHER_LABEL]: String(process.pid) })
    .withWaitStrategy(Wait.forLogMessage(STARTED_LOG))
    .withStartupTimeout(options.startTimeoutMs);
  let started: Awaited<ReturnType<GenericContainerType['start']>>;
  try {
    started = await container.start();
  } catch (err) {
    throw new BaheError(
      ErrorCode.KAFKA_FAILED,
      `the container broker (${options.image}) did not start; see its log with docker logs on the ` +
        `container labelled ${PORT_LABEL}=${label}`,
      { cause: err, context: { image: options.image, port } },
    );
  }

  return {
    brokers: `127.0.0.1:${port}`,
    kind: `container ${options.image} (${started.getId().slice(0, 12)})`,
    startedHere: true,
    stop: async () => {
      await started.stop({ timeout: STOP_GRACE_MS, remove: true, removeVolumes: true });
    },
  };
}
