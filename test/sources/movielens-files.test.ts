import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { isBaheError } from '../../src/errors.js';
import { parseItems, parseRatings, readMovieLensFolder } from '../../src/sources/movielens-files.js';
import { tempDir } from '../helpers/data.js';
import { writeMovieLensFolder } from './made-up-data.js';

const titles = new Map([
  [1, 'First Made-Up Film (1990)'],
  [2, 'Second Made-Up Film (1991)'],
]);

function datasetError(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(isBaheError(err, 'BAHE_DATASET_INVALID'), String(err));
    assert.match(err.message, pattern);
    return true;
  };
}

test('malformed u.data lines are reported with file and line number', () => {
  const cases: [string, RegExp][] = [
    ['1\t1\t5\t100\n1\t2\t5\n', /u\.data:2: expected 4 tab-separated/],
    ['1\t1\t5\t100\n\n1\t2\t5\t101\n', /u\.data:2: expected 4/],
    ['1\t1\tfive\t100\n', /u\.data:1: expected 4/],
    ['1\t1\t6\t100\n', /u\.data:1: rating 6 is outside 1 to 5/],
    ['1\t1\t0\t100\n', /u\.data:1: expected 4/],
    ['1\t1\t3\t100\n2\t9\t3\t100\n', /u\.data:2: movie id 9 is not in u\.item/],
    ['1 1 3 100\n', /u\.data:1: expected 4/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseRatings(text, '/data/u.data', titles),
      datasetError(pattern),
      JSON.stringify(text),
    );
  }
});

test('malformed u.item lines are reported with file and line number', () => {
  assert.throws(
    () => parseItems('1|A (1990)|x\n2||x\n', '/data/u.item'),
    datasetError(/u\.item:2: expected/),
  );
  assert.throws(
    () => parseItems('1|A (1990)\nx|B (1991)\n', '/data/u.item'),
    datasetError(/u\.item:2: expected/),
  );
  assert.throws(
    () => parseItems('1|A (1990)\n1|B (1991)\n', '/data/u.item'),
    datasetError(/u\.item:2: movie id 1 appears twice/),
  );
  assert.throws(() => parseItems('', '/data/u.item'), datasetError(/no movies/));
});

test('CRLF line ends are accepted', () => {
  assert.equal(parseItems('1|A (1990)|x\r\n2|B (1991)|x\r\n', 'u.item').get(2), 'B (1991)');
  assert.equal(parseRatings('1\t1\t5\t100\r\n2\t2\t1\t50\r\n', 'u.data', titles).count, 2);
});

test('a file that ends without a newline is refused as cut short, naming its last line', () => {
  // Regression: u.data cut inside the last timestamp ("...\t87871" for "...\t878710000") was read
  // as a valid rating.
  assert.throws(
    () => parseRatings('1\t1\t5\t100\n2\t2\t1\t50', '/data/u.data', titles),
    datasetError(/\/data\/u\.data:2: the file ends without a newline/),
  );
});

test('ratings come back in time order, ties by user then item', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeMovieLensFolder(
      dir,
      [
        [5, 2, 4, 300],
        [3, 2, 1, 200],
        [3, 1, 2, 200],
        [1, 1, 5, 200],
        [9, 1, 3, 100],
      ],
      titles,
    );
    const { ratings, userCount } = await readMovieLensFolder(dir);
    assert.equal(userCount, 4);
    assert.deepEqual([...ratings.timestamps], [100, 200, 200, 200, 300]);
    assert.deepEqual([...ratings.users], [9, 1, 3, 3, 5]);
    assert.deepEqual([...ratings.items], [1, 1, 1, 2, 2]);
    assert.deepEqual([...ratings.ratings], [3, 5, 2, 1, 4]);
  } finally {
    await cleanup();
  }
});

test('a folder without u.data or u.item is refused naming the missing file', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await assert.rejects(
      readMovieLensFolder(path.join(dir, 'absent')),
      datasetError(/u\.(data|item) is missing/),
    );
    await writeFile(path.join(dir, 'u.data'), '1\t1\t5\t100\n');
    await assert.rejects(
      readMovieLensFolder(dir),
      datasetError(/u\.item is missing or unreadable in .*extracted ml-100k/),
    );
  } finally {
    await cleanup();
  }
});
