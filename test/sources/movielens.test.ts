import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import type { ImpressionEvent } from '../../src/events/types.js';
import {
  type MovieLensEvent,
  type MovieLensOptions,
  openMovieLens100k,
} from '../../src/sources/movielens.js';
import { datasetDir, tempDir } from '../helpers/data.js';
import { type Row, writeMovieLensFolder } from './made-up-data.js';

const titles = new Map([
  [1, 'Alpha (1990)'],
  [2, 'Beta (1991)'],
  [3, 'Gamma (1992)'],
  [4, 'Delta (1993)'],
  [5, 'Caf\u00e9 Epsilon (1994)'],
]);
// User 7 rates five films over time; user 8 rates one film at the same second as user 7's second rating.
const rows: Row[] = [
  [7, 5, 2, 500],
  [7, 1, 5, 100],
  [8, 3, 4, 200],
  [7, 2, 4, 200],
  [7, 3, 1, 300],
  [7, 4, 5, 400],
];

async function readAll(options: MovieLensOptions): Promise<MovieLensEvent[]> {
  const events: MovieLensEvent[] = [];
  for await (const event of await openMovieLens100k(options)) events.push(event);
  return events;
}

async function withFolder(run: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir();
  try {
    await run(await writeMovieLensFolder(path.join(dir, 'ml'), rows, titles));
  } finally {
    await cleanup();
  }
}

test('each rating gives an impression, then its behavior, in time order with deterministic ids', () =>
  withFolder(async (dir) => {
    const stream = await openMovieLens100k({ dir });
    assert.equal(stream.total, 12);
    assert.deepEqual([stream.ratingCount, stream.userCount, stream.itemCount], [6, 2, 5]);

    const events = await readAll({ dir });
    assert.deepEqual(
      events.map((e) => e.event.eventId),
      ['1', '2', '8:3', '3', '4', '5'].flatMap((key) => {
        const [user, item] = key.includes(':') ? key.split(':') : ['7', key];
        return [`ml100k:${user}:${item}:i`, `ml100k:${user}:${item}:b`];
      }),
    );
    assert.deepEqual(
      events.map((e) => e.index),
      events.map((_, i) => i),
    );

    const [first, second] = events;
    assert.deepEqual(first?.event, {
      eventId: 'ml100k:7:1:i',
      userId: '7',
      itemId: '1',
      itemText: 'Alpha (1990)',
      history: [],
      label: 1,
      timestampMs: 100_000,
      source: 'movielens-100k',
    });
    assert.deepEqual(second?.event, {
      eventId: 'ml100k:7:1:b',
      userId: '7',
      type: 'liked',
      text: 'Alpha (1990)',
      timestampMs: 100_000,
      source: 'movielens-100k',
    });
  }));

test('histories hold earlier behaviors only, oldest first, capped per type', () =>
  withFolder(async (dir) => {
    const events = await readAll({ dir, maxHistoryPerType: 1 });
    const impressions = events
      .filter((e) => e.kind === 'ImpressionEvent')
      .map((e) => e.event as ImpressionEvent);
    const last = impressions.at(-1);
    // User 7 before the 500 s rating: liked Alpha, liked Beta, disliked Gamma, liked Delta; one kept per type.
    assert.equal(last?.itemText, 'Caf\u00e9 Epsilon (1994)');
    assert.equal(last?.label, 0);
    assert.deepEqual(last?.history, [
      { type: 'disliked', text: 'Gamma (1992)' },
      { type: 'liked', text: 'Delta (1993)' },
    ]);
    // User 8 shares a second with user 7 but never sees user 7's behaviors.
    assert.deepEqual(impressions.find((e) => e.userId === '8')?.history, []);

    const full = (await readAll({ dir })).map((e) => e.event as ImpressionEvent).at(-2);
    assert.deepEqual(
      full?.history.map((h) => h.text),
      ['Alpha (1990)', 'Beta (1991)', 'Gamma (1992)', 'Delta (1993)'],
    );
  }));

test('a resumed stream yields exactly the tail of the full stream', () =>
  withFolder(async (dir) => {
    const full = await readAll({ dir, maxHistoryPerType: 2 });
    for (const startAtEvent of [0, 5, 6, 11, 12]) {
      const resumed = await readAll({ dir, maxHistoryPerType: 2, startAtEvent });
      assert.deepEqual(resumed, full.slice(startAtEvent), `startAtEvent ${startAtEvent}`);
    }
  }));

test('maxImpressions caps the stream to the first ratings in time order', () =>
  withFolder(async (dir) => {
    const stream = await openMovieLens100k({ dir, maxImpressions: 2 });
    assert.equal(stream.total, 4);
    const events = await readAll({ dir, maxImpressions: 2 });
    assert.deepEqual(
      events.map((e) => e.event.eventId),
      ['ml100k:7:1:i', 'ml100k:7:1:b', 'ml100k:7:2:i', 'ml100k:7:2:b'],
    );
    assert.equal((await readAll({ dir, maxImpressions: 0 })).length, 0);
  }));

test('bad options fail fast naming the field and the range', async () => {
  const cases: [MovieLensOptions, RegExp][] = [
    [{ maxHistoryPerType: 0 }, /maxHistoryPerType must be an integer in \[1, 10000\]/],
    [{ startAtEvent: -1 }, /startAtEvent must be an integer/],
    [{ maxImpressions: 1.5 }, /maxImpressions must be an integer/],
    [{ source: '' }, /source must be a non-empty string/],
  ];
  for (const [options, pattern] of cases) {
    await assert.rejects(openMovieLens100k({ dir: '/nonexistent', ...options }), (err: unknown) => {
      return isBaheError(err, 'BAHE_CONFIG_INVALID') && pattern.test(err.message);
    });
  }
});

const ml = datasetDir('movielens-100k');

test('the real MovieLens-100K: counts, time order, histories from the past only, caps, Latin-1 titles', {
  skip: ml.skip,
}, async () => {
  const stream = await openMovieLens100k({ dir: ml.dir });
  assert.deepEqual(
    [stream.ratingCount, stream.userCount, stream.itemCount, stream.total],
    [100_000, 943, 1682, 200_000],
  );

  // Independently kept: each user's behaviors as emitted so far, to check every history against.
  type Seen = { type: string; text: string; timestampMs: number; seq: number };
  const emitted = new Map<string, { liked: Seen[]; disliked: Seen[]; [type: string]: Seen[] }>();
  let seq = 0;
  let previous: { timestampMs: number; user: number; item: number } | undefined;
  let impressions = 0;
  let liked = 0;
  let fullHistories = 0;
  let accented = '';

  for await (const { kind, event } of stream) {
    if (kind === 'BehaviorEvent') {
      const byType = emitted.get(event.userId) ?? { liked: [], disliked: [] };
      byType[event.type]?.push({
        type: event.type,
        text: event.text,
        timestampMs: event.timestampMs,
        seq: seq++,
      });
      emitted.set(event.userId, byType);
      continue;
    }
    impressions++;
    liked += event.label;
    const key = { timestampMs: event.timestampMs, user: Number(event.userId), item: Number(event.itemId) };
    if (previous) {
      const order =
        key.timestampMs - previous.timestampMs || key.user - previous.user || key.item - previous.item;
      assert.ok(order > 0, `${event.eventId} comes after ${JSON.stringify(previous)}`);
    }
    previous = key;

    const past = emitted.get(event.userId);
    const expected = [...(past?.liked.slice(-25) ?? []), ...(past?.disliked.slice(-25) ?? [])].sort(
      (a, b) => a.seq - b.seq,
    );
    assert.ok(expected.every((b) => b.timestampMs <= event.timestampMs));
    assert.deepEqual(
      event.history,
      expected.map(({ type, text }) => ({ type, text })),
      event.eventId,
    );
    if (event.history.length === 50) fullHistories++;
    if (event.itemId === '543') accented = event.itemText;
  }

  assert.equal(impressions, 100_000);
  assert.equal(liked, 34_174 + 21_201);
  assert.ok(fullHistories > 1000, `${fullHistories} impressions with both types at the cap`);
  assert.match(accented, /^Mis\u00e9rables, Les \(/);
});
