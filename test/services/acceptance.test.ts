/**
 * The Kafka services end to end, as separate `bahe` processes on a real broker: two encoder instances
 * and one trainer sharing one embedded store folder, fed MovieLens events with corrupt messages among
 * them, once undisturbed and once killed with SIGKILL mid-stream and restarted.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { EventCodec } from '../../src/events/codec.js';
import { defaultSchemaDir, loadSchemaVersions } from '../../src/events/registry.js';
import { OrderedProducer } from '../../src/kafka/producer.js';
import { silentLogger } from '../../src/log.js';
import type { EncoderServiceStats } from '../../src/services/encoder/service.js';
import type { KafkaSourcePosition } from '../../src/services/trainer/ledger.js';
import type { TrainerServiceStats } from '../../src/services/trainer/service.js';
import { EmbeddedStore } from '../../src/store/embedded.js';
import { slotOfFile } from '../../src/store/embedded-meta.js';
import { RecordKind } from '../../src/store/log-format.js';
import { readLog } from '../../src/store/log-reader.js';
import { readLatestCheckpoint } from '../../src/trainer/checkpoint.js';
import { datasetDir, repoRoot, tempDir } from '../helpers/data.js';
import {
  consumeRecords,
  type KafkaFixture,
  kafkaBrokers,
  kafkaFixture,
  kafkaSkip,
} from '../helpers/kafka.js';
import { defaultModel } from '../helpers/model.js';
import {
  assertTrainedExactlyOnce,
  endOffsets,
  movieLensBehaviorIds,
  produceMovieLens,
  waitFor,
} from '../helpers/services.js';
import { cosine } from '../store/records.js';

const movielens = datasetDir('movielens-100k');
const noKafka = await kafkaSkip();
const TOPICS = [
  'behaviors',
  'impressions',
  'refs',
  'model-updates',
  'behaviors.dlq',
  'impressions.dlq',
  'refs.dlq',
];
const EVENTS = 1_600;
const IMPRESSIONS = EVENTS / 2;
const BATCH = 128;
const CORRUPT_BEHAVIORS = 60;
const CORRUPT_IMPRESSIONS = 40;
const WAIT_MS = 180_000;
const CLI = path.join(repoRoot, 'dist', 'src', 'cli.js');

/** One `bahe` process: its JSON log lines and its exit. */
class BaheProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #logLines: Array<Record<string, unknown>> = [];
  #stdout = '';
  #stderrTail = '';

  constructor(
    readonly name: string,
    command: string,
    args: string[],
  ) {
    this.child = spawn(process.execPath, [CLI, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stdout += chunk;
    });
    let partial = '';
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-4_000);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{')) this.#logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
    });
  }

  /** Fails, with the end of its log, when the process has exited. */
  assertRunning(): void {
    const { exitCode, signalCode } = this.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(
        `${this.name} exited with ${exitCode ?? signalCode}; its log ends:\n${this.#stderrTail}`,
      );
    }
  }

  /** The log lines with message `msg`. */
  logged(msg: string): Array<Record<string, unknown>> {
    return this.#logLines.filter((line) => line.msg === msg);
  }

  /** SIGTERM, then the counts the command printed on its clean exit. */
  async stop<Stats>(): Promise<Stats> {
    this.child.kill('SIGTERM');
    const { code, signal } = await this.exited;
    assert.equal(code, 0, `${this.name} exited with ${code ?? signal}; its log ends:\n${this.#stderrTail}`);
    return JSON.parse(this.#stdout.trim().split('\n').at(-1) as string) as Stats;
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    const { signal } = await this.exited;
    assert.equal(signal, 'SIGKILL', `${this.name} was still running when killed`);
  }

  /** Kills the process if the test left it running. */
  dispose(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

interface Setup {
  fixture: KafkaFixture;
  stateDir: string;
  storeDir: string;
  encoderVersion: string;
  processes: BaheProcess[];
  cleanup: () => Promise<void>;
}

async function setUp(): Promise<Setup> {
  const model = await defaultModel();
  const fixture = await kafkaFixture(TOPICS);
  const dir = await tempDir('bahe-acceptance-');
  const processes: BaheProcess[] = [];
  const stateDir = path.join(dir.dir, 'trainer');
  return {
    fixture,
    stateDir,
    storeDir: path.join(dir.dir, 'store'),
    encoderVersion: model.manifest.encoderVersion,
    processes,
    cleanup: async () => {
      for (const process of processes) process.dispose();
      await Promise.all(processes.map((process) => process.exited));
      const admin = fixture.kafka.admin();
      await admin.connect();
      await admin
        .deleteGroups([`${fixture.groupId}-trainer`, `${fixture.groupId}-dlq`])
        .catch(() => undefined);
      await admin.disconnect();
      await fixture.cleanup();
      await dir.cleanup();
    },
  };
}

const COMMON_ARGS = [
  // No operations endpoints: several services run side by side here.
  ...['--ops-port', '0'],
  ...['--threads', '1', '--session-timeout-ms', '10000', '--heartbeat-interval-ms', '500'],
  ...['--fetch-max-wait-ms', '200', '--log-format', 'json', '--log-level', 'info'],
];

function startEncoder(setup: Setup, name: string): BaheProcess {
  const { fixture } = setup;
  const args = [
    ...['--behavior-topic', fixture.topic('behaviors'), '--impression-topic', fixture.topic('impressions')],
    ...['--refs-topic', fixture.topic('refs'), '--group-id', fixture.groupId],
    ...['--store', 'embedded', '--store-dir', setup.storeDir],
    ...['--kafka-brokers', kafkaBrokers().join(','), '--encoder-batch-size', '64', ...COMMON_ARGS],
  ];
  const process = new BaheProcess(name, 'encoder', args);
  setup.processes.push(process);
  return process;
}

function startTrainer(setup: Setup): BaheProcess {
  const { fixture } = setup;
  const args = [
    ...['--impression-topic', fixture.topic('impressions'), '--group-id', `${fixture.groupId}-trainer`],
    ...['--model-update-topic', fixture.topic('model-updates'), '--state-dir', setup.stateDir],
    ...['--checkpoint-every-steps', '1', '--batch-max-wait-ms', '3000'],
    ...['--store', 'embedded', '--store-dir', setup.storeDir],
    // Long enough that the trainer never encodes a behavior itself while the encoders are restarting.
    ...['--store-wait-ms', '120000', '--kafka-brokers', kafkaBrokers().join(','), ...COMMON_ARGS],
  ];
  const process = new BaheProcess('trainer', 'trainer', args);
  setup.processes.push(process);
  return process;
}

/** Waits until both encoders share the internal topic's partitions and the trainer has joined its group. */
async function waitUntilJoined(setup: Setup, encoders: BaheProcess[], trainer: BaheProcess): Promise<void> {
  const refs = setup.fixture.topic('refs');
  await waitFor(
    'both encoders own part of the internal topic and the trainer has joined',
    () => {
      for (const process of [...encoders, trainer]) process.assertRunning();
      const owned = encoders.map((encoder) => {
        const joins = encoder.logged('joined the group');
        const assignment = joins.at(-1)?.assignment as Record<string, number[]> | undefined;
        return assignment?.[refs] ?? [];
      });
      return (
        owned.every((partitions) => partitions.length > 0) &&
        owned.reduce((sum, partitions) => sum + partitions.length, 0) === 3 &&
        trainer.logged('joined the group; partitions sought to the checkpoint').length > 0
      );
    },
    WAIT_MS,
  );
}

/** How many times each behavior id was put, counted in every log of the store folder. */
async function putsPerId(setup: Setup): Promise<Map<string, number>> {
  const folder = path.join(setup.storeDir, setup.encoderVersion);
  const puts = new Map<string, number>();
  const model = await defaultModel();
  for (const name of await readdir(folder)) {
    if (slotOfFile(name) === undefined) continue;
    await readLog(path.join(folder, name), model.manifest.hiddenSize, (entry) => {
      if (entry.kind === RecordKind.put) puts.set(entry.record.id, (puts.get(entry.record.id) ?? 0) + 1);
    });
  }
  return puts;
}

async function openReader(setup: Setup): Promise<EmbeddedStore> {
  const model = await defaultModel();
  const store = new EmbeddedStore({
    dir: setup.storeDir,
    encoderVersion: setup.encoderVersion,
    dimension: model.manifest.hiddenSize,
    readOnly: true,
  });
  await waitFor(
    'the encoders have created the store',
    () =>
      store.open().then(
        () => true,
        () => false,
      ),
    WAIT_MS,
  );
  return store;
}

async function latestPosition(setup: Setup) {
  return readLatestCheckpoint(path.join(setup.stateDir, 'checkpoints'));
}

/** Waits until the store holds every expected behavior and the newest checkpoint has trained every impression. */
async function waitUntilDone(
  setup: Setup,
  reader: EmbeddedStore,
  expected: Set<string>,
  impressions: number,
) {
  await waitFor(
    `the store holds all ${expected.size} behaviors and ${impressions} impressions are trained`,
    async () =>
      (await reader.missing([...expected])).length === 0 &&
      ((await latestPosition(setup))?.checkpoint.samplesSeen ?? 0) >= impressions,
    WAIT_MS,
    500,
  );
}

/** 60 unreadable or invalid behavior events and 40 impressions, each kind of fault several times. */
function corruptMessages(codec: EventCodec): { behaviors: Buffer[]; impressions: Buffer[] } {
  const versions = loadSchemaVersions([defaultSchemaDir()]);
  const v1 = (kind: string) => versions.find((v) => v.kind === kind && v.version === 1);
  const behaviorV1 = v1('BehaviorEvent');
  const impressionV1 = v1('ImpressionEvent');
  assert.ok(behaviorV1 && impressionV1);
  // Well-typed Avro the codec refuses to write, because a field is out of range: built by hand.
  const handMade = (version: typeof behaviorV1, event: object) =>
    Buffer.concat([Buffer.from([0xc3, 0x01]), version.fingerprint, version.type.toBuffer(event)]);
  const good = codec.encode('BehaviorEvent', {
    eventId: 'g',
    userId: 'u',
    type: 'liked',
    text: 'a title',
    timestampMs: 1,
    source: 'test',
  });

  const behaviorFaults = (i: number): Buffer =>
    [
      () => Buffer.from(`not an avro message ${i}`),
      () => Buffer.alloc(i % 4),
      () => good.subarray(0, good.length - 1 - (i % 3)),
      () => Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.from(`unknown${i % 10}`), good.subarray(10)]),
      () =>
        handMade(behaviorV1, {
          eventId: `b${i}`,
          userId: 'u',
          type: 'liked',
          text: ' ',
          timestampMs: 1,
          source: 't',
        }),
      () =>
        handMade(behaviorV1, {
          eventId: `b${i}`,
          userId: 'u',
          type: 'liked',
          text: 'x',
          timestampMs: -i - 1,
          source: 't',
        }),
      () =>
        codec.encode('ModelUpdateEvent', {
          version: `v${i}`,
          step: 1,
          createdAtMs: 1,
          metrics: {},
          location: 'x',
        }),
    ][i % 7]?.() as Buffer;
  const impression = (i: number, label: number) => ({
    eventId: `i${i}`,
    userId: 'u',
    itemId: 'item',
    itemText: 'a candidate',
    history: [{ type: 'liked', text: 'a title' }],
    label,
    timestampMs: 1,
    source: 't',
  });
  const impressionFaults = (i: number): Buffer =>
    [
      () => Buffer.from(`garbage impression ${i}`),
      () => handMade(impressionV1, impression(i, 2 + i)),
      () => Buffer.alloc(0),
      () => good,
    ][i % 4]?.() as Buffer;
  return {
    behaviors: Array.from({ length: CORRUPT_BEHAVIORS }, (_, i) => behaviorFaults(i)),
    impressions: Array.from({ length: CORRUPT_IMPRESSIONS }, (_, i) => impressionFaults(i)),
  };
}

/** MovieLens events at `ratePerS`, with the corrupt messages sent while the good ones are still flowing. */
/**
 * Produces MovieLens events `skip` to `skip + events` at `ratePerS` (`bahe produce`), with the corrupt
 * messages sent halfway through.
 */
async function produceWithCorruption(
  setup: Setup,
  ratePerS: number,
  { events = EVENTS, skip = 0 }: { events?: number; skip?: number } = {},
): Promise<void> {
  const { fixture } = setup;
  const producing = produceMovieLens(fixture, movielens.dir, events, [
    ...['--rate-per-s', String(ratePerS), '--skip-events', String(skip)],
  ]);
  const corrupt = corruptMessages(new EventCodec());
  const producer = new OrderedProducer(fixture.kafka, silentLogger());
  await producer.connect();
  try {
    await new Promise((resolve) => setTimeout(resolve, (500 * events) / ratePerS));
    const keyed = (values: Buffer[]) => values.map((value, i) => ({ key: `corrupt-${i % 9}`, value }));
    await producer.send(fixture.topic('behaviors'), keyed(corrupt.behaviors));
    await producer.send(fixture.topic('impressions'), keyed(corrupt.impressions));
  } finally {
    await producer.disconnect();
  }
  await producing;
}

/** The dead letters of one topic, decoded. */
async function deadLetters(setup: Setup, name: string) {
  const { fixture } = setup;
  const count = [...(await endOffsets(fixture, name)).values()].reduce((sum, end) => sum + end, 0);
  const records = await consumeRecords(fixture.kafka, [fixture.topic(name)], `${fixture.groupId}-dlq`, count);
  const codec = new EventCodec();
  return records.map((record) => codec.decodeAs('DeadLetter', record.value as Buffer));
}

interface RunResult {
  expected: Set<string>;
  vectors: Map<string, Float32Array>;
  position: KafkaSourcePosition;
  samplesSeen: number;
  steps: number;
}

/** What every run must show, killed or not: each behavior stored once, each impression trained once. */
async function assertFinalState(
  setup: Setup,
  reader: EmbeddedStore,
  expected: Set<string>,
): Promise<RunResult> {
  const puts = await putsPerId(setup);
  assert.deepEqual(
    new Set(puts.keys()),
    expected,
    'the store holds exactly the behaviors of the good events',
  );
  const repeated = [...puts].filter(([, times]) => times !== 1);
  assert.deepEqual(repeated, [], 'every behavior was put into the store exactly once');

  const latest = await latestPosition(setup);
  assert.ok(latest);
  const position = latest.checkpoint.sourcePosition as KafkaSourcePosition;
  await assertTrainedExactlyOnce(setup.fixture, position, latest.checkpoint.samplesSeen, IMPRESSIONS);
  const deadImpressions = Object.values(position.deadLettered[setup.fixture.topic('impressions')] ?? {})
    .flat()
    .reduce((sum, [first, last]) => sum + last - first + 1, 0);
  assert.equal(deadImpressions, CORRUPT_IMPRESSIONS, 'the checkpoint records every corrupt impression');
  assert.equal(
    latest.checkpoint.step,
    Math.ceil(IMPRESSIONS / BATCH),
    'trainer steps == ceil(impressions / batch)',
  );

  return {
    expected,
    vectors: new Map([...(await reader.get([...expected]))].map(([id, record]) => [id, record.vector])),
    position,
    samplesSeen: latest.checkpoint.samplesSeen,
    steps: latest.checkpoint.step,
  };
}

let cleanRun: RunResult | undefined;

test('2 encoders and 1 trainer over 1,600 MovieLens events and 100 corrupt messages: each behavior encoded once, each impression trained once, every bad message dead-lettered', {
  skip: movielens.skip || noKafka,
  timeout: 2 * WAIT_MS,
}, async (t) => {
  const setup = await setUp();
  try {
    const expected = await movieLensBehaviorIds(movielens.dir, EVENTS);
    const encoderA = startEncoder(setup, 'encoder-a');
    const encoderB = startEncoder(setup, 'encoder-b');
    const trainer = startTrainer(setup);
    await waitUntilJoined(setup, [encoderA, encoderB], trainer);
    await produceWithCorruption(setup, 800);

    const reader = await openReader(setup);
    try {
      await waitUntilDone(setup, reader, expected, IMPRESSIONS);
      const [a, b, trained] = await Promise.all([
        encoderA.stop<EncoderServiceStats>(),
        encoderB.stop<EncoderServiceStats>(),
        trainer.stop<TrainerServiceStats>(),
      ]);

      assert.equal(a.encoded + b.encoded, expected.size, 'encoder calls == unique behaviors');
      assert.ok(a.encoded > 0 && b.encoded > 0, `both encoders worked: ${a.encoded} + ${b.encoded}`);
      assert.equal(a.eventsRouted + b.eventsRouted, EVENTS, 'every good event was routed');
      assert.equal(a.deadLettered + b.deadLettered, CORRUPT_BEHAVIORS + CORRUPT_IMPRESSIONS);
      assert.equal(trained.encoded, 0, 'the trainer found every vector in the store');
      assert.equal(trained.totalSteps, Math.ceil(IMPRESSIONS / BATCH));
      assert.equal(trained.deadLettered, CORRUPT_IMPRESSIONS);
      cleanRun = await assertFinalState(setup, reader, expected);

      const sources = new Set([...(await endOffsets(setup.fixture, 'behaviors')).keys()].map(String));
      const behaviorLetters = await deadLetters(setup, 'behaviors.dlq');
      const impressionLetters = await deadLetters(setup, 'impressions.dlq');
      assert.equal(
        behaviorLetters.length,
        CORRUPT_BEHAVIORS,
        'the encoders dead-lettered each bad behavior once',
      );
      assert.equal(
        impressionLetters.length,
        2 * CORRUPT_IMPRESSIONS,
        'each bad impression was dead-lettered once by the encoders and once by the trainer',
      );
      for (const letter of [...behaviorLetters, ...impressionLetters]) {
        assert.match(letter.code, /^BAHE_/);
        assert.ok(letter.reason.length > 10, `a reason: ${letter.reason}`);
        assert.ok(sources.has(String(letter.partition)) && BigInt(letter.offset) >= 0n);
      }
      const reasons = new Set([...behaviorLetters, ...impressionLetters].map((letter) => letter.code));
      t.diagnostic(
        `${expected.size} behaviors encoded as ${a.encoded} + ${b.encoded}; ${trained.totalSteps} steps; ` +
          `dead-letter codes: ${[...reasons].sort().join(', ')}`,
      );
    } finally {
      await reader.close();
    }
  } finally {
    await setup.cleanup();
  }
});

test('the encoders and the trainer killed with SIGKILL mid-stream and restarted end in the same state as an undisturbed run', {
  skip: movielens.skip || noKafka,
  timeout: 2 * WAIT_MS,
}, async (t) => {
  const setup = await setUp();
  try {
    const expected = await movieLensBehaviorIds(movielens.dir, EVENTS);
    // The first part holds whole micro-batches only, so that the pause after it closes no partial one.
    const firstPart = 2 * 3 * BATCH;
    const firstPartIds = await movieLensBehaviorIds(movielens.dir, firstPart);
    const encoderA = startEncoder(setup, 'encoder-a');
    const encoderB = startEncoder(setup, 'encoder-b');
    const trainer = startTrainer(setup);
    await waitUntilJoined(setup, [encoderA, encoderB], trainer);

    const reader = await openReader(setup);
    try {
      // The kill comes at a moment set by the services' progress, not by the clock: after the
      // trainer's first checkpoint, and once the encoders store behaviors that only the second part
      // of the stream mentions, with most of that part still to come.
      await produceMovieLens(setup.fixture, movielens.dir, firstPart, ['--rate-per-s', '150']);
      await waitFor(
        'the trainer has checkpointed its first step',
        async () => ((await latestPosition(setup))?.checkpoint.step ?? 0) >= 1,
        WAIT_MS,
        50,
      );
      const producing = produceWithCorruption(setup, 150, { events: EVENTS - firstPart, skip: firstPart });
      await waitFor(
        'the encoders store behaviors of the second part',
        async () => (await reader.count()) > firstPartIds.size,
        WAIT_MS,
        20,
      );
      await Promise.all([encoderA, encoderB, trainer].map((process) => process.kill()));
      const storedAtKill = await reader.count();
      const trainedAtKill = (await latestPosition(setup))?.checkpoint.samplesSeen ?? 0;
      assert.ok(storedAtKill < expected.size, `killed while encoding: ${storedAtKill} of ${expected.size}`);
      assert.ok(
        trainedAtKill > 0 && trainedAtKill < IMPRESSIONS,
        `killed while training: ${trainedAtKill} of ${IMPRESSIONS}`,
      );

      const restartedA = startEncoder(setup, 'encoder-a2');
      const restartedB = startEncoder(setup, 'encoder-b2');
      const trainer2 = startTrainer(setup);
      await producing;
      await waitUntilDone(setup, reader, expected, IMPRESSIONS);
      const [a, b, trained] = await Promise.all([
        restartedA.stop<EncoderServiceStats>(),
        restartedB.stop<EncoderServiceStats>(),
        trainer2.stop<TrainerServiceStats>(),
      ]);
      assert.equal(trained.encoded, 0, 'the restarted trainer found every vector in the store');
      assert.ok(a.encoded + b.encoded <= expected.size - storedAtKill, 'nothing stored was encoded again');

      const run = await assertFinalState(setup, reader, expected);
      t.diagnostic(
        `killed at ${storedAtKill} of ${expected.size} behaviors stored and ${trainedAtKill} of ` +
          `${IMPRESSIONS} impressions trained; the restarted encoders encoded ${a.encoded} + ${b.encoded}`,
      );
      if (cleanRun === undefined) return;
      assert.equal(run.samplesSeen, cleanRun.samplesSeen);
      assert.equal(run.steps, cleanRun.steps);
      assert.deepEqual(new Set(run.vectors.keys()), new Set(cleanRun.vectors.keys()));
      let lowest = 1;
      for (const [id, vector] of run.vectors)
        lowest = Math.min(lowest, cosine(vector, cleanRun.vectors.get(id) as Float32Array));
      // Encoder batches differ between the runs, so vectors may differ in the last bits only.
      assert.ok(lowest > 0.99999, `vectors match the undisturbed run's: lowest cosine ${lowest}`);
    } finally {
      await reader.close();
    }
  } finally {
    await setup.cleanup();
  }
});
