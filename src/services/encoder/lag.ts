/** How far a consumer group is behind the end of its topics: what an operator watches, and what tests wait on. */
import type { Admin } from 'kafkajs';
import type { Kafka } from '../../kafka/client.js';
import { withKafkaErrors } from '../../kafka/errors.js';

/** Messages not yet committed by `groupId`, per topic; a partition without a commit counts from its start. */
export async function consumerLag(
  kafka: Kafka,
  groupId: string,
  topics: readonly string[],
): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await withKafkaErrors('connecting the admin client', { groupId }, () => admin.connect());
  try {
    return await consumerLagWith(admin, groupId, topics);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** `consumerLag` over an admin client the caller has connected (and keeps). */
export async function consumerLagWith(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<Map<string, number>> {
  const lag = new Map<string, number>();
  // Topic by topic, in the order given: a caller that lists a pipeline's topics upstream first reads
  // each downstream end offset after the upstream commits it depends on.
  for (const topic of topics) {
    const [committed] = await withKafkaErrors('fetching committed offsets', { topic, groupId }, () =>
      admin.fetchOffsets({ groupId, topics: [topic] }),
    );
    const ends = await withKafkaErrors('fetching end offsets', { topic }, () =>
      admin.fetchTopicOffsets(topic),
    );
    let behind = 0;
    for (const end of ends) {
      const commit = committed?.partitions.find((p) => p.partition === end.partition);
      const from = commit === undefined || commit.offset === '-1' ? Number(end.low) : Number(commit.offset);
      behind += Math.max(0, Number(end.high) - from);
    }
    lag.set(topic, behind);
  }
  return lag;
}
