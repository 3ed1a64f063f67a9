import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { EventCodec } from '../../src/events/codec.js';
import { type MindEvent, mindBehaviorType, openMind } from '../../src/sources/mind.js';
import { parseMindTime } from '../../src/sources/mind-files.js';
import { datasetDir, tempDir } from '../helpers/data.js';

const mind = datasetDir('mind-small-sample');

async function collect(stream: AsyncIterable<MindEvent>): Promise<MindEvent[]> {
  const events: MindEvent[] = [];
  for await (const item of stream) events.push(item);
  return events;
}

/** Writes an invented MIND folder (no real rows) and returns it with its cleanup. */
async function inventedMind(behaviors: string[], news: string[]) {
  const folder = await tempDir('bahe-mind-');
  await writeFile(path.join(folder.dir, 'behaviors.tsv'), `${behaviors.join('\n')}\n`);
  await writeFile(path.join(folder.dir, 'news.tsv'), `${news.join('\n')}\n`);
  return folder;
}

const NEWS = [
  'N1\tsports\tfootball\tTeam wins the cup\tabstract\thttp://x\t[]\t[]',
  'N2\tfoodanddrink\trecipes\tA soup for winter\tabstract\thttp://x\t[]\t[]',
  'N3\tnews\tnewsus\tCity opens a park\tabstract\thttp://x\t[]\t[]',
  'N4\tfinance\tmarkets\t\tabstract without title\thttp://x\t[]\t[]',
];

test('parseMindTime reads the 12-hour clock as UTC and refuses dates that do not exist', () => {
  assert.equal(parseMindTime('11/15/2019 8:55:22 AM'), Date.UTC(2019, 10, 15, 8, 55, 22));
  assert.equal(parseMindTime('11/15/2019 8:55:22 PM'), Date.UTC(2019, 10, 15, 20, 55, 22));
  assert.equal(parseMindTime('1/2/2020 12:00:05 AM'), Date.UTC(2020, 0, 2, 0, 0, 5));
  assert.equal(parseMindTime('1/2/2020 12:30:00 PM'), Date.UTC(2020, 0, 2, 12, 30, 0));
  for (const bad of [
    '2/30/2019 1:00:00 AM',
    '13/1/2019 1:00:00 AM',
    '1/1/2019 0:00:00 AM',
    '1/1/2019 13:00:00 PM',
    '2019-11-15 08:55:22',
  ]) {
    assert.equal(parseMindTime(bad), undefined, bad);
  }
});

test('mindBehaviorType folds a category into the behavior-type alphabet', () => {
  assert.equal(mindBehaviorType('sports'), 'news_sports');
  assert.equal(mindBehaviorType('Food & Drink'), 'news_food_drink');
  assert.equal(mindBehaviorType(''), 'news_unknown');
});

test('openMind replays rows in time order: new history as behaviors, titled candidates as impressions, clicks as behaviors', async () => {
  const folder = await inventedMind(
    [
      // Later row first in the file: the reader must sort by time.
      '20\tU1\t11/14/2019 9:00:00 AM\tN1 N9 N2\tN3-0 N2-1',
      '10\tU1\t11/14/2019 8:00:00 AM\tN1 N9\tN3-1 N4-0 N8-0',
      '30\tU2\t11/14/2019 8:30:00 AM\t\tN1-0',
    ],
    NEWS,
  );
  try {
    const stream = await openMind({ dir: folder.dir });
    const events = await collect(stream);
    assert.deepEqual(
      events.map((e) => e.event.eventId),
      [
        'mind:U1:N1:h',
        'mind:10:0',
        'mind:10:N3:c',
        'mind:30:0',
        'mind:U1:N2:h',
        'mind:20:0',
        'mind:20:1',
        'mind:20:N2:c',
      ],
    );
    assert.deepEqual(
      events.map((e) => e.index),
      events.map((_, i) => i),
    );
    assert.deepEqual(stream.counts, {
      rows: 3,
      behaviorEvents: 4,
      impressionEvents: 4,
      historyEntriesWithoutTitle: 2,
      candidatesWithoutTitle: 2,
    });
    assert.equal(stream.total, 8);

    const last = events[6];
    assert.ok(last && last.kind === 'ImpressionEvent');
    // The row's own history (titled entries only), then the click from the earlier row.
    assert.deepEqual(last.event.history, [
      { type: 'news_sports', text: 'Team wins the cup' },
      { type: 'news_foodanddrink', text: 'A soup for winter' },
      { type: 'news_news', text: 'City opens a park' },
    ]);
    assert.equal(last.event.label, 1);
    assert.equal(last.event.timestampMs, Date.UTC(2019, 10, 14, 9));
  } finally {
    await folder.cleanup();
  }
});

test('openMind keeps only the most recent maxHistory behaviors', async () => {
  const folder = await inventedMind(['1\tU1\t11/14/2019 8:00:00 AM\tN1 N2 N3\tN1-0'], NEWS);
  try {
    const events = await collect(await openMind({ dir: folder.dir, maxHistory: 2 }));
    const impression = events.find((e) => e.kind === 'ImpressionEvent');
    assert.ok(impression && impression.kind === 'ImpressionEvent');
    assert.deepEqual(
      impression.event.history.map((h) => h.text),
      ['A soup for winter', 'City opens a park'],
    );
  } finally {
    await folder.cleanup();
  }
});

test('openMind names the file and line of a malformed row', async () => {
  const folder = await inventedMind(
    ['1\tU1\t11/14/2019 8:00:00 AM\tN1\tN1-0', '2\tU1\t2019-11-14 08:00\tN1\tN1-0'],
    NEWS,
  );
  try {
    await assert.rejects(openMind({ dir: folder.dir }), (err: unknown) => {
      assert.ok(isBaheError(err, 'BAHE_DATASET_INVALID'));
      assert.match(err.message, /behaviors\.tsv line 2: time "2019-11-14 08:00"/);
      return true;
    });
  } finally {
    await folder.cleanup();
  }
});

test('openMind on the real MIND sample: every titled candidate becomes a valid, encodable impression', {
  skip: mind.skip,
}, async () => {
  // Independent count from the raw files: candidates and history entries whose news id has a title.
  const titled = new Set<string>();
  for (const line of readFileSync(path.join(mind.dir, 'news.tsv'), 'utf8').split('\n')) {
    const [id, , , title] = line.split('\t');
    if (id && title?.trim()) titled.add(id);
  }
  let candidates = 0;
  let titledCandidates = 0;
  let historyEntries = 0;
  let titledHistory = 0;
  for (const line of readFileSync(path.join(mind.dir, 'behaviors.tsv'), 'utf8').split('\n')) {
    if (line === '') continue;
    const [, , , history = '', impressions = ''] = line.split('\t');
    for (const id of history.split(' ').filter(Boolean)) {
      historyEntries++;
      if (titled.has(id)) titledHistory++;
    }
    for (const token of impressions.split(' ').filter(Boolean)) {
      candidates++;
      if (titled.has(token.slice(0, token.lastIndexOf('-')))) titledCandidates++;
    }
  }

  const stream = await openMind({ dir: mind.dir });
  assert.equal(stream.counts.rows, 5000);
  assert.equal(stream.counts.impressionEvents, titledCandidates);
  assert.equal(stream.counts.candidatesWithoutTitle, candidates - titledCandidates);
  assert.equal(stream.counts.historyEntriesWithoutTitle, historyEntries - titledHistory);
  assert.ok(titledCandidates > 1000, `expected thousands of titled candidates, got ${titledCandidates}`);

  const codec = new EventCodec();
  const ids = new Set<string>();
  let lastTime = 0;
  let events = 0;
  for await (const item of stream) {
    events++;
    assert.ok(item.event.timestampMs >= lastTime, `${item.event.eventId} goes back in time`);
    lastTime = item.event.timestampMs;
    assert.ok(!ids.has(item.event.eventId), `duplicate event id ${item.event.eventId}`);
    ids.add(item.event.eventId);
    const types = item.kind === 'BehaviorEvent' ? [item.event.type] : item.event.history.map((h) => h.type);
    for (const type of types) assert.match(type, /^news_[a-z0-9_]+$/);
    const decoded = codec.decodeAs(item.kind, codec.encode(item.kind, item.event as never));
    assert.deepEqual(decoded, item.event);
  }
  assert.equal(events, stream.total);
  assert.equal(stream.total, stream.counts.behaviorEvents + stream.counts.impressionEvents);
});
