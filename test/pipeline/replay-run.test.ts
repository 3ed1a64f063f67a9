import assert from 'node:assert/strict';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parseOptions } from '../../src/config/options.js';
import { isBaheError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { runReplay } from '../../src/pipeline/replay-run.js';
import { RUN_OPTION_SPECS } from '../../src/pipeline/run-options.js';
import { EmbeddedStore } from '../../src/store/embedded.js';
import { readLatestCheckpoint } from '../../src/trainer/checkpoint.js';
import { datasetDir, defaultModelDir, tempDir } from '../helpers/data.js';
import { defaultModel } from '../helpers/model.js';
import { type Row, writeMovieLensFolder } from '../sources/made-up-data.js';

const movielens = datasetDir('movielens-100k');

/** The job's options; the embedded store goes inside the test's state folder. */
function options(flags: string[]) {
  const stateDir = flags[flags.indexOf('--state-dir') + 1] as string;
  const store = ['--store', 'embedded', '--store-dir', path.join(stateDir, 'store')];
  return parseOptions(
    RUN_OPTION_SPECS,
    [...flags, ...store, '--model', defaultModelDir, '--threads', '2'],
    {},
  ).options;
}

async function storedCount(stateDir: string): Promise<number> {
  const { manifest } = await defaultModel();
  const store = new EmbeddedStore({
    dir: path.join(stateDir, 'store'),
    encoderVersion: manifest.encoderVersion,
    dimension: manifest.hiddenSize,
  });
  await store.open();
  try {
    return await store.count();
  } finally {
    await store.close();
  }
}

test('a slice of MovieLens runs end to end, and a second run resumes without re-encoding', {
  skip: movielens.skip,
}, async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const first = await runReplay(
      options(['--data', movielens.dir, '--state-dir', dir, '--max-impressions', '300']),
      silentLogger(),
    );
    assert.equal(first.impressions, 300);
    assert.equal(first.behaviorEvents, 300);
    assert.equal(first.trainingSteps, Math.ceil(300 / 128));
    assert.equal(first.alreadyStored, 0);
    assert.equal(
      first.encoderCalls,
      first.uniqueBehaviors,
      'a fresh store encodes every unique behavior once',
    );
    assert.equal(first.storedBehaviors, first.uniqueBehaviors);
    assert.ok(first.behaviorOccurrences > first.uniqueBehaviors, 'histories repeat behaviors');
    assert.ok(first.runningAuc > 0.5 && first.runningAuc < 1);
    assert.ok(first.checkpointPath?.startsWith(path.join(dir, 'checkpoints')));

    const second = await runReplay(
      options(['--data', movielens.dir, '--state-dir', dir, '--max-impressions', '300']),
      silentLogger(),
    );
    assert.equal(second.resumedFromStep, first.totalSteps);
    assert.equal(second.impressions, 300, 'the second run starts where the first stopped');
    assert.equal(second.totalSamples, 600);
    assert.equal(
      second.encoderCalls,
      second.uniqueBehaviors - second.alreadyStored,
      'stored behaviors are not encoded again',
    );
    assert.ok(second.alreadyStored > 0);
    const latest = await readLatestCheckpoint(path.join(dir, 'checkpoints'));
    assert.ok(latest);
    assert.equal((latest.checkpoint.sourcePosition as { event: number }).event, 1200);
  } finally {
    await cleanup();
  }
});

test('stopping at a checkpoint and resuming gives the same parameters as one uninterrupted run', {
  skip: movielens.skip,
}, async () => {
  const straight = await tempDir();
  const split = await tempDir();
  try {
    const common = ['--data', movielens.dir, '--checkpoint-every-steps', '1'];
    await runReplay(
      options([...common, '--state-dir', straight.dir, '--max-impressions', '512']),
      silentLogger(),
    );
    await runReplay(
      options([...common, '--state-dir', split.dir, '--max-impressions', '256']),
      silentLogger(),
    );
    const resumed = await runReplay(
      options([...common, '--state-dir', split.dir, '--max-impressions', '256']),
      silentLogger(),
    );
    assert.equal(resumed.totalSteps, 4);

    const a = await readLatestCheckpoint(path.join(straight.dir, 'checkpoints'));
    const b = await readLatestCheckpoint(path.join(split.dir, 'checkpoints'));
    assert.ok(a && b);
    assert.equal(a.checkpoint.step, b.checkpoint.step);
    assert.equal(a.checkpoint.samplesSeen, b.checkpoint.samplesSeen);
    assert.deepEqual(b.checkpoint.sourcePosition, a.checkpoint.sourcePosition);
    for (const [name, value] of a.checkpoint.parameters) {
      const other = b.checkpoint.parameters.get(name) as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < value.length; i += 1)
        maxDiff = Math.max(maxDiff, Math.abs((value[i] as number) - (other[i] as number)));
      assert.ok(maxDiff < 1e-5, `${name} differs by ${maxDiff}`);
    }
    // The same impressions were scored, in the same order, none twice; scores agree up to float noise.
    type Scored = { bahe: { scores: number[]; labels: number[] } };
    const scoredA = (a.checkpoint.metrics as Scored).bahe;
    const scoredB = (b.checkpoint.metrics as Scored).bahe;
    assert.deepEqual(scoredB.labels, scoredA.labels);
    assert.equal(scoredB.scores.length, 512);
    scoredA.scores.forEach((score, i) => {
      assert.ok(Math.abs(score - (scoredB.scores[i] as number)) < 1e-4);
    });
  } finally {
    await straight.cleanup();
    await split.cleanup();
  }
});

test('invalid behavior texts are rejected and counted while every other event is processed', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // Made-up titles: one that is only control characters, one far over the length limit.
    const titles = new Map<number, string>([
      [1, 'A Made-Up Film (1990)'],
      [2, '\u0085\u0001'],
      [3, `An Endless Title ${'x'.repeat(1200)}`],
      [4, 'Another Made-Up Film (1991)'],
    ]);
    const rows: Row[] = [];
    for (let user = 1; user <= 20; user += 1) {
      for (let item = 1; item <= 4; item += 1)
        rows.push([user, item, ((user + item) % 5) + 1, 1_000 + user * 10 + item]);
    }
    const data = await writeMovieLensFolder(path.join(dir, 'data'), rows, titles);
    const summary = await runReplay(
      options(['--data', data, '--state-dir', path.join(dir, 'state')]),
      silentLogger(),
    );

    assert.equal(summary.eventsRead, 160);
    assert.equal(summary.rejectedEvents, 80, 'every event of items 2 and 3 is rejected');
    assert.equal(summary.impressions, 80);
    assert.equal(summary.trainingSteps, 1, '40 valid impressions make one micro-batch');
    assert.equal(summary.totalSamples, 40);
  } finally {
    await cleanup();
  }
});

test('a corrupt model file stops the run with a clear error and loses nothing already stored', {
  skip: movielens.skip,
}, async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const state = path.join(dir, 'state');
    const first = await runReplay(
      options(['--data', movielens.dir, '--state-dir', state, '--max-impressions', '128']),
      silentLogger(),
    );

    const model = path.join(dir, 'model');
    await cp(defaultModelDir, model, { recursive: true });
    const graph = path.join(model, 'train_step.onnx');
    const bytes = await readFile(graph);
    await writeFile(graph, bytes.subarray(0, bytes.length >> 1));

    await assert.rejects(
      runReplay({ ...options(['--data', movielens.dir, '--state-dir', state]), model }, silentLogger()),
      (error: unknown) =>
        isBaheError(error, 'BAHE_MODEL_INVALID') && error.message.includes('train_step.onnx'),
    );
    assert.equal(await storedCount(state), first.storedBehaviors);
    assert.equal(
      (await readdir(path.join(state, 'checkpoints'))).filter((f) => f.endsWith('.ckpt')).length,
      1,
    );
  } finally {
    await cleanup();
  }
});

test('a run stopped right after a training step resumes with exactly the impressions asked for', {
  skip: movielens.skip,
}, async () => {
  // Regression: a checkpoint at an odd event index (after an impression, before its behavior) made the
  // next run train one impression fewer than --max-impressions.
  const { dir, cleanup } = await tempDir();
  try {
    const flags = ['--data', movielens.dir, '--state-dir', dir, '--checkpoint-every-steps', '1'];
    let reads = 0;
    const stopAfterEvent254 = {
      get aborted() {
        reads += 1;
        return reads > 255;
      },
    } as AbortSignal;
    const stopped = await runReplay(options(flags), silentLogger(), stopAfterEvent254);
    assert.equal(stopped.totalSamples, 128, 'the unfinished micro-batch is not trained');
    assert.equal(stopped.streamPosition, 255);

    const resumed = await runReplay(options([...flags, '--max-impressions', '100']), silentLogger());
    assert.equal(resumed.impressions, 100);
    assert.equal(resumed.totalSamples, 228);
    assert.equal(resumed.streamPosition, 456);
  } finally {
    await cleanup();
  }
});

test('a second job on the same state folder is refused, whatever model it runs', async () => {
  // Regression: the lock sat in the store's per-encoder folder, so a job with another model wrote into
  // the same checkpoints folder.
  const { dir, cleanup } = await tempDir();
  try {
    const { acquireLock } = await import('../../src/util/lock.js');
    const held = await acquireLock(path.join(dir, 'LOCK'), silentLogger());
    try {
      await assert.rejects(
        runReplay(options(['--state-dir', dir, '--max-impressions', '10']), silentLogger()),
        (error: unknown) =>
          isBaheError(error, 'BAHE_STATE_IN_USE') && /another --state-dir/.test(error.message),
      );
      assert.deepEqual(await readdir(dir), ['LOCK'], 'nothing was written beside the lock');
    } finally {
      await held.release();
    }
  } finally {
    await cleanup();
  }
});

test('a checkpoint is not resumed on other data', { skip: movielens.skip }, async () => {
  // Regression: a position saved on MovieLens was applied silently to a different u.data.
  const { dir, cleanup } = await tempDir();
  try {
    const state = path.join(dir, 'state');
    await runReplay(
      options(['--data', movielens.dir, '--state-dir', state, '--max-impressions', '128']),
      silentLogger(),
    );
    const other = path.join(dir, 'other');
    await cp(movielens.dir, other, { recursive: true });
    await writeFile(
      path.join(other, 'u.data'),
      (await readFile(path.join(other, 'u.data'))).subarray(0, 200_000),
    );
    const cut = await readFile(path.join(other, 'u.data'), 'latin1');
    await writeFile(path.join(other, 'u.data'), cut.slice(0, cut.lastIndexOf('\n') + 1), 'latin1');
    await assert.rejects(
      runReplay(options(['--data', other, '--state-dir', state]), silentLogger()),
      (error: unknown) => isBaheError(error, 'BAHE_CHECKPOINT_INVALID') && /other data/.test(error.message),
    );
  } finally {
    await cleanup();
  }
});
