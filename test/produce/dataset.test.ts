import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { type DatasetEvent, openDataset } from '../../src/produce/dataset.js';
import { datasetDir } from '../helpers/data.js';

const movielens = datasetDir('movielens-100k');

async function eventIds(events: AsyncIterable<DatasetEvent>): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of events) ids.push(`${item.kind}/${item.event.eventId}`);
  return ids;
}

function open(skipEvents: number, maxEvents: number) {
  return openDataset({
    dataset: 'movielens',
    data: movielens.dir,
    cacheDir: os.tmpdir(),
    skipEvents,
    maxEvents,
    maxHistory: 50,
    logger: silentLogger(),
  });
}

test('--skip-events resumes a replay: the skipped and the resumed parts together are the uninterrupted stream', {
  skip: movielens.skip,
}, async () => {
  const whole = await eventIds((await open(0, 1_500)).events);
  assert.equal(whole.length, 1_500);

  const first = await open(0, 701);
  const rest = await open(701, 799);
  assert.equal(first.total, 701);
  assert.equal(rest.total, 799);
  const resumed = [...(await eventIds(first.events)), ...(await eventIds(rest.events))];
  assert.deepEqual(resumed, whole);
});

test('--skip-events past the end of the stream produces nothing; without --max-events it runs to the end', {
  skip: movielens.skip,
}, async () => {
  const everything = await open(0, 0);
  const beyond = await open(everything.total + 10, 0);
  assert.equal(beyond.total, 0);
  assert.deepEqual(await eventIds(beyond.events), []);

  const tail = await open(everything.total - 3, 0);
  assert.equal(tail.total, 3);
  assert.equal((await eventIds(tail.events)).length, 3);
});
