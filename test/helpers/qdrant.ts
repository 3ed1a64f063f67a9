/**
 * A Qdrant server for tests: the one at QDRANT_URL when set and answering, otherwise a container
 * started with testcontainers where a container runtime is available. Without either, Qdrant tests
 * skip with a message saying how to enable them.
 */
import { randomBytes } from 'node:crypto';

export interface QdrantForTests {
  url: string;
  apiKey: string | undefined;
  /** Stops what this helper started (nothing for an external server). */
  stop(): Promise<void>;
}

const IMAGE = process.env.BAHE_QDRANT_IMAGE ?? 'qdrant/qdrant:v1.15.4';
export const QDRANT_SKIP_MESSAGE =
  'no Qdrant reachable: set QDRANT_URL=http://127.0.0.1:6333 (and QDRANT_API_KEY if it needs one), or ' +
  `run where testcontainers finds a container runtime with the image ${IMAGE} (BAHE_QDRANT_IMAGE)`;

/** A server to test against, or a skip message. */
export async function qdrantForTests(): Promise<QdrantForTests | { skip: string }> {
  const url = process.env.QDRANT_URL;
  const apiKey = process.env.QDRANT_API_KEY === '' ? undefined : process.env.QDRANT_API_KEY;
  if (url !== undefined && url !== '') {
    const reason = await unreachable(url, apiKey);
    if (reason !== undefined)
      return { skip: `QDRANT_URL=${url} does not answer (${reason}); ${QDRANT_SKIP_MESSAGE}` };
    return { url, apiKey, stop: async () => {} };
  }
  return startContainer();
}

async function startContainer(): Promise<QdrantForTests | { skip: string }> {
  try {
    const { GenericContainer, ImageName, Wait, getContainerRuntimeClient } = await import('testcontainers');
    const runtime = await getContainerRuntimeClient();
    // Only an image already present is used: no registry is pulled from during tests.
    if (!(await runtime.image.exists(ImageName.fromString(IMAGE)))) {
      return { skip: `${QDRANT_SKIP_MESSAGE} (a container runtime is here but the image is not; load it)` };
    }
    const container = await new GenericContainer(IMAGE)
      .withExposedPorts(6333)
      .withWaitStrategy(Wait.forHttp('/readyz', 6333))
      .withStartupTimeout(60_000)
      .start();
    return {
      url: `http://${container.getHost()}:${container.getMappedPort(6333)}`,
      apiKey: undefined,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { skip: `${QDRANT_SKIP_MESSAGE} (testcontainers: ${reason})` };
  }
}

async function unreachable(url: string, apiKey: string | undefined): Promise<string | undefined> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(3000),
      headers: apiKey === undefined ? {} : { 'api-key': apiKey },
    });
    return response.ok ? undefined : `HTTP ${response.status}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A collection prefix no other test run uses. */
export function uniquePrefix(): string {
  return `bahe_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}
