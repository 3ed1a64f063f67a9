/** What the Kafka service tests share: producing MovieLens, the ids they expect, waiting, and proofs. */
import assert from 'node:assert/strict';
import { BehaviorIdentityCache } from '../../src/behavior/identity-cache.js';
import { parseOptions } from '../../src/config/options.js';
import { silentLogger } from '../../src/log.js';
import { behaviorRefOf, resolveImpression } from '../../src/pipeline/impressions.js';
import { PRODUCE_OPTION_SPECS } from '../../src/produce/options.js';
import { type ProduceSummary, runProduce } from '../../src/produce/run.js';
import type { KafkaSourcePosition } from '../../src/services/trainer/ledger.js';
import { OffsetRanges } from '../../src/services/trainer/offset-ranges.js';
import { openMovieLens100k } from '../../src/sources/movielens.js';
import { EmbeddedStore } from '../../src/store/embedded.js';
import { type KafkaFixture, kafkaBrokers } from './kafka.js';
import { defaultModel } from './model.js';

/** Produces the first `events` MovieLens events into the fixture's behavior and impression topics. */
export async function produceMovieLens(
  fixture: KafkaFixture,
  dataDir: string,
  events: number,
  extra: string[] = [],
): Promise<ProduceSummary> {
  const argv = [
    ...['--data', dataDir, '--max-events', String(events)],
    ...['--behavior-topic', fixture.topic('behaviors'), '--impression-topic', fixture.topic('impressions')],
    ...['--kafka-brokers', kafkaBrokers().join(','), ...extra],
  ];
  const summary = await runProduce(parseOptions(PRODUCE_OPTION_SPECS, argv, {}).options, silentLogger());
  assert.equal(summary.messagesSent, events);
  return summary;
}

/** Every behavior id the first `events` MovieLens events mention, computed here as the pipeline does. */
export async function movieLensBehaviorIds(dataDir: string, events: number): Promise<Set<string>> {
  const identities = new BehaviorIdentityCache();
  const ids = new Set<string>();
  for await (const item of await openMovieLens100k({ dir: dataDir, maxImpressions: events / 2 })) {
    if (item.kind === 'BehaviorEvent') ids.add(behaviorRefOf(item.event, identities).id);
    else for (const ref of resolveImpression(item.event, identities).refs) ids.add(ref.id);
  }
  return ids;
}

/** The embedded store folder a service writes, opened read-only for the default model's encoder version. */
export async function openStoreReader(storeDir: string): Promise<EmbeddedStore> {
  const model = await defaultModel();
  const reader = new EmbeddedStore({
    dir: storeDir,
    encoderVersion: model.manifest.encoderVersion,
    dimension: model.manifest.hiddenSize,
    readOnly: true,
  });
  await reader.open();
  return reader;
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  pollMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The end offset of every partition of one of the fixture's topics. */
export async function endOffsets(fixture: KafkaFixture, name: string): Promise<Map<number, number>> {
  const admin = fixture.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(fixture.topic(name));
    return new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Asserts from a trainer checkpoint's record that every offset of the impression topic was either
 * trained exactly once or dead-lettered, none skipped, and that `trainedImpressions` were trained.
 */
export async function assertTrainedExactlyOnce(
  fixture: KafkaFixture,
  position: KafkaSourcePosition,
  samplesSeen: number,
  trainedImpressions: number,
): Promise<void> {
  const topic = fixture.topic('impressions');
  const ends = await endOffsets(fixture, 'impressions');
  let trained = 0;
  for (const [partition, end] of ends) {
    const trainedRanges = new OffsetRanges(position.trained[topic]?.[String(partition)] ?? []);
    const covered = new OffsetRanges(trainedRanges.toJSON());
    for (const [first, last] of position.deadLettered[topic]?.[String(partition)] ?? []) {
      for (let offset = first; offset <= last; offset += 1) {
        assert.ok(covered.add(offset), `partition ${partition}: offset ${offset} trained and dead-lettered`);
      }
    }
    // Trained and dead-lettered offsets together cover 0..end-1: nothing skipped.
    assert.deepEqual(covered.toJSON(), end === 0 ? [] : [[0, end - 1]], `partition ${partition}`);
    assert.equal(
      position.next[topic]?.[String(partition)] ?? 0,
      end,
      `next offset of partition ${partition}`,
    );
    trained += trainedRanges.size;
  }
  assert.equal(trained, trainedImpressions);
  // Each training row counts once in samplesSeen, so a repeated impression would push it past the union.
  assert.equal(samplesSeen, trainedImpressions);
}
