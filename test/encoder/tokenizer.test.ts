import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { padBatch, type TokenizerSettings, WordPieceTokenizer } from '../../src/encoder/tokenizer.js';
import { ErrorCode, isBaheError } from '../../src/errors.js';
import { loadModel } from '../../src/model/load.js';
import { defaultModelDir, repoRoot, tempDir } from '../helpers/data.js';

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  'un',
  '##aff',
  '##able',
  'a',
  '##ff',
  'cafe',
  '!',
  '日',
  '本',
  'σας',
  '##a',
];
const SETTINGS: TokenizerSettings = {
  lowercase: true,
  stripAccents: true,
  maxTokens: 16,
  clsId: 2,
  sepId: 3,
  padId: 0,
  unkId: 1,
};
const id = (token: string) => VOCAB.indexOf(token);
const small = (settings: Partial<TokenizerSettings> = {}) =>
  new WordPieceTokenizer(VOCAB, { ...SETTINGS, ...settings });

test('greedy longest match with ## continuations, framed by [CLS] and [SEP]', () => {
  assert.deepEqual(small().encode('unaffable'), [2, id('un'), id('##aff'), id('##able'), 3]);
  assert.deepEqual(small().encode('aff'), [2, id('a'), id('##ff'), 3]);
});

test('a word with an unmatched rest becomes one [UNK]; so does a word over 100 characters', () => {
  assert.deepEqual(small().encode('unaffx a'), [2, 1, id('a'), 3]);
  assert.deepEqual(small().encode('a'.repeat(101)), [2, 1, 3]);
  assert.equal(small({ maxTokens: 200 }).encode('a'.repeat(100)).length, 102);
});

test('lowercases and strips accents only when the settings say so', () => {
  assert.deepEqual(small().encode('CAFÉ'), [2, id('cafe'), 3]);
  assert.deepEqual(small({ lowercase: false, stripAccents: false }).encode('CAFÉ'), [2, 1, 3]);
});

test('punctuation splits words; CJK ideographs are words of their own; control characters vanish', () => {
  assert.deepEqual(small().basicTokens('un!aff\u0000 日本x\u200b\tb'), [
    'un',
    '!',
    'aff',
    '日',
    '本',
    'x',
    'b',
  ]);
});

test('a word-final capital sigma lowercases to the plain sigma, as the checkpoint tokenizer does', () => {
  assert.deepEqual(small().basicTokens('ΣΑΣ'), ['σασ']);
});

test('truncates to maxTokens including [CLS] and [SEP]', () => {
  const ids = small({ maxTokens: 4 }).encode('a a a a a');
  assert.deepEqual(ids, [2, id('a'), id('a'), 3]);
});

test('a batch is padded to its longest text with a mask of real tokens, as int64 data', () => {
  const batch = small().encodeBatch(['a', 'unaffable', '']);
  assert.equal(batch.batchSize, 3);
  assert.equal(batch.seqLen, 5);
  assert.deepEqual(Array.from(batch.ids, Number), [2, 7, 3, 0, 0, 2, 4, 5, 6, 3, 2, 3, 0, 0, 0]);
  assert.deepEqual(Array.from(batch.mask, Number), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  assert.equal(padBatch([], 0).ids.length, 0);
});

test('special token ids outside the vocabulary are refused at construction', () => {
  assert.throws(
    () => small({ unkId: VOCAB.length }),
    (err) => isBaheError(err, ErrorCode.MODEL_INVALID) && /tokenizer\.unkId/.test(err.message),
  );
});

test('reads a vocabulary file with one token per line', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = path.join(dir, 'vocab.txt');
    await writeFile(file, `${VOCAB.join('\n')}\n`);
    const tokenizer = await WordPieceTokenizer.fromVocabFile(file, SETTINGS);
    assert.equal(tokenizer.vocabSize, VOCAB.length);
    assert.deepEqual(tokenizer.encode('Unaffable!'), small().encode('unaffable !'));
  } finally {
    await cleanup();
  }
});

const fixtureFile = path.join(repoRoot, 'test', 'fixtures', 'tokenizer-vectors.json');
const fixtureSkip =
  existsSync(fixtureFile) && existsSync(path.join(defaultModelDir, 'manifest.json'))
    ? false
    : `needs ${fixtureFile} and the compiled model in ${defaultModelDir}`;

test('every fixture text gives exactly the reference tokenizer ids', { skip: fixtureSkip }, async () => {
  const model = await loadModel(defaultModelDir, { verifyChecksums: false });
  const tokenizer = await WordPieceTokenizer.fromVocabFile(model.files.vocab, model.manifest.tokenizer);
  const fixture = parseTokenizerFixture(JSON.parse(await readFile(fixtureFile, 'utf8')));
  assert.ok(fixture.length > 0, 'the fixture holds no cases');

  const mismatches = fixture.filter(
    (c) => JSON.stringify(tokenizer.encode(c.text)) !== JSON.stringify(c.ids),
  );
  assert.deepEqual(
    mismatches.map((c) => ({ text: c.text, expected: c.ids, actual: tokenizer.encode(c.text) })),
    [],
  );
});

/** Accepts the fixture as a list of cases or as an object holding one under `cases`. */
function parseTokenizerFixture(json: unknown): Array<{ text: string; ids: number[] }> {
  const cases = Array.isArray(json) ? json : (json as { cases?: unknown }).cases;
  assert.ok(Array.isArray(cases), 'tokenizer fixture: expected an array of { text, ids }');
  return cases.map((c) => {
    const { text, ids } = c as { text: unknown; ids: unknown };
    assert.equal(typeof text, 'string');
    assert.ok(Array.isArray(ids));
    return { text: text as string, ids: ids as number[] };
  });
}
