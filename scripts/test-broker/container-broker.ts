/**
 * The container broker: the local Kafka image started through testcontainers on the host network, so
 * it listens on 127.0.0.1 like the local broker. The reaper container (Ryuk) cannot be pulled where no
 * registry is reachable, so it is disabled and the launcher removes the container itself; a container
 * left by a launcher that was killed is found by its label and removed on the next start.
 */
import type { GenericContainer as GenericContainerType } from 'testcontainers';
import { BaheError, ErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { TestBroker } from './broker.js';
import { portTaken } from './probe.js';

const BROKER_LABEL = 'org.bahe-stream.test-broker-port';
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
  startTimeoutMs: number;
}

/** Starts the Kafka image on `port` (controller on the next port) and waits until the broker has started. */
export async function startContainerBroker(
  options: ContainerBrokerOptions,
  log: Logger,
): Promise<TestBroker> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await testcontainers();
  const client = await getContainerRuntimeClient();
  const label = String(options.port);

  const dockerode = client.container.dockerode;
  const leftovers = await dockerode.listContainers({
    all: true,
    filters: { label: [`${BROKER_LABEL}=${label}`] },
  });
  for (const info of leftovers) {
    log.warn(
      { containerId: info.Id.slice(0, 12) },
      'removing a test broker container left by an earlier run',
    );
    await dockerode.getContainer(info.Id).remove({ force: true, v: true });
  }
  for (const port of [options.port, options.port + 1]) {
    if (await portTaken(port)) {
      throw new BaheError(
        ErrorCode.KAFKA_FAILED,
        `port ${port} on 127.0.0.1 is taken, so the container broker cannot listen there; set ` +
          'BAHE_TEST_KAFKA_PORT to a free port (its controller takes the next one)',
        { context: { port } },
      );
    }
  }

  const container: GenericContainerType = new GenericContainer(options.image)
    .withNetworkMode('host')
    .withEnvironment({ BAHE_KAFKA_PORT: label })
    .withLabels({ [BROKER_LABEL]: label })
    .withWaitStrategy(Wait.forLogMessage(STARTED_LOG))
    .withStartupTimeout(options.startTimeoutMs);
  let started: Awaited<ReturnType<GenericContainerType['start']>>;
  try {
    started = await container.start();
  } catch (err) {
    throw new BaheError(
      ErrorCode.KAFKA_FAILED,
      `the container broker (${options.image}) did not start; see its log with docker logs on the ` +
        `container labelled ${BROKER_LABEL}=${label}`,
      { cause: err, context: { image: options.image, port: options.port } },
    );
  }

  return {
    brokers: `127.0.0.1:${options.port}`,
    kind: `container ${options.image} (${started.getId().slice(0, 12)})`,
    startedHere: true,
    stop: async () => {
      await started.stop({ timeout: STOP_GRACE_MS, remove: true, removeVolumes: true });
    },
  };
}
