import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeBehaviorText, validateBehaviorType } from '../../src/behavior/normalize.js';
import { isBaheError } from '../../src/errors.js';

const textInvalid = (err: unknown) => isBaheError(err, 'BAHE_BEHAVIOR_TEXT_INVALID');

test('NFC and NFD forms of the same text normalise to one string', () => {
  const nfc = 'Caf\u00e9 Cr\u00e8me';
  const nfd = 'Cafe\u0301 Cre\u0300me';
  assert.notEqual(nfc, nfd);
  assert.equal(normalizeBehaviorText(nfc), 'caf\u00e9 cr\u00e8me');
  assert.equal(normalizeBehaviorText(nfd), normalizeBehaviorText(nfc));
});

test('compatibility forms fold: full-width letters and ligatures', () => {
  assert.equal(normalizeBehaviorText('\uff34\uff4f\uff59 \ufb01le'), 'toy file');
});

test('whitespace runs of every kind become one space and the ends are trimmed', () => {
  const text = '\u00a0 Toy\t\tStory\n\r\n(1995)\u200b\u200d \u3000x\u2028y\ufeff ';
  assert.equal(normalizeBehaviorText(text), 'toy story (1995) x y');
  assert.equal(normalizeBehaviorText('a\u200bb'), 'a b');
});

test('case folds without locale rules', () => {
  assert.equal(
    normalizeBehaviorText('ISTANBUL \u0130stanbul'),
    normalizeBehaviorText('istanbul i\u0307stanbul'),
  );
  assert.equal(normalizeBehaviorText('GROSSE Stra\u00dfe'), 'grosse stra\u00dfe');
});

test('normalisation is idempotent', () => {
  for (const text of ['\u0130STANBUL', 'Cafe\u0301\u00a0 X', '\u2460 \u00bd', 'A\u200bB']) {
    const once = normalizeBehaviorText(text);
    assert.equal(normalizeBehaviorText(once), once, text);
  }
});

test('a text that is empty after normalisation is refused', () => {
  for (const text of ['', '   ', '\t\n\u00a0', '\u200b\u200c\u2060']) {
    assert.throws(() => normalizeBehaviorText(text), textInvalid, JSON.stringify(text));
  }
});

test('a text over the limit is refused, counting code points after normalisation', () => {
  assert.equal(normalizeBehaviorText('x'.repeat(1000)).length, 1000);
  assert.throws(
    () => normalizeBehaviorText('x'.repeat(1001)),
    (err: unknown) => {
      assert.ok(textInvalid(err));
      assert.match((err as Error).message, /1001 characters.*maxChars=1000/);
      return true;
    },
  );
  // 1,000 astral characters are 2,000 UTF-16 units but within a 1,000 character limit.
  assert.doesNotThrow(() => normalizeBehaviorText('\u{1f3ac}'.repeat(1000)));
  // Whitespace collapsing happens before the length check.
  assert.doesNotThrow(() => normalizeBehaviorText(`a${' '.repeat(5000)}b`));
  assert.throws(() => normalizeBehaviorText('abcdef', { maxChars: 5 }), textInvalid);
});

test('a bad maxChars fails fast naming the field', () => {
  assert.throws(
    () => normalizeBehaviorText('a', { maxChars: 0 }),
    /maxChars must be an integer in \[1, 1000000\]/,
  );
});

test('behavior types are short [a-z0-9_] names', () => {
  for (const type of ['liked', 'disliked', 'search_query', 'bill2'])
    assert.equal(validateBehaviorType(type), type);
  for (const type of ['', 'Liked', 'not-liked', 'a b', 'ü', 'x'.repeat(65)]) {
    assert.throws(() => validateBehaviorType(type), textInvalid, type);
  }
});

test('control characters separate words and soft hyphens vanish, so invisible bytes do not split identities', () => {
  assert.equal(normalizeBehaviorText('a\u0000b\u0085c\u007fd'), 'a b c d');
  assert.equal(normalizeBehaviorText('co\u00ADoperate'), 'cooperate');
  assert.throws(() => normalizeBehaviorText('\u0001\u0085\u00AD'), /empty after normalisation/);
});
