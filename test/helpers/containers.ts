/**
 * What the tests of bahe-stream/testing share: the service image under test, why they skip, and the
 * containers a test left behind, found by a label of its own.
 */
import { randomBytes } from 'node:crypto';
import { baheStreamSkipReason } from '../../src/testing/index.js';
import { kafkaSkip } from './kafka.js';

// The reaper image cannot be pulled where no registry answers; each test removes its own container.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/** The service image the tests start: BAHE_IMAGE, else the one deploy/Dockerfile builds. */
export const SERVICE_IMAGE = process.env.BAHE_IMAGE ?? 'bahe-stream';

/** False when a container runtime holds the image and a broker answers; otherwise why the tests skip. */
export async function serviceContainerSkip(): Promise<string | false> {
  const imageSkip = await baheStreamSkipReason(SERVICE_IMAGE);
  if (imageSkip !== undefined) return `${imageSkip} (see README, Containers)`;
  return kafkaSkip();
}

/** A label for one test's containers: pass `labels` to startBaheStream, `filter` to containersLabelled. */
export function testRunLabel(): { labels: Record<string, string>; filter: string } {
  const run = `run-${randomBytes(4).toString('hex')}`;
  return { labels: { 'org.bahe-stream.test-run': run }, filter: `org.bahe-stream.test-run=${run}` };
}

/** Ids of the containers, stopped or not, that carry `filter` (key=value). */
export async function containersLabelled(filter: string): Promise<string[]> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const found = await client.container.dockerode.listContainers({ all: true, filters: { label: [filter] } });
  return found.map((c) => c.Id);
}
