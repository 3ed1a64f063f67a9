import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BEHAVIOR_ID_NAMESPACE, behaviorId, identifyBehavior, uuidV5 } from '../../src/behavior/id.js';
import { isBaheError } from '../../src/errors.js';

const V5_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('uuidV5 matches the RFC example computed elsewhere', () => {
  // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org'))"
  assert.equal(
    uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org'),
    '886313e1-3b8a-5372-9b90-0c9aee199e5d',
  );
});

test('behavior ids are stable known values', () => {
  // python3 -c "import uuid; ns = uuid.UUID('3f9b4acd-fca7-4f5a-b499-254da5b08927');
  //   print(uuid.uuid5(ns, 'liked\x00toy story (1995)')); print(uuid.uuid5(ns, 'search_query\x00caf\xe9 near me'))"
  assert.equal(BEHAVIOR_ID_NAMESPACE, '3f9b4acd-fca7-4f5a-b499-254da5b08927');
  assert.equal(behaviorId('liked', 'Toy Story (1995)'), 'a50742b2-fb23-5e75-b641-f9e1e099eae6');
  assert.equal(
    behaviorId('search_query', '  CAFE\u0301\u00a0near\tme '),
    'fa649995-fd7c-5c4a-b521-adb1a224e2e6',
  );
});

test('the same behavior in different unicode forms, spacing and case has one id', () => {
  const id = behaviorId('liked', 'Am\u00e9lie (2001)');
  assert.match(id, V5_UUID);
  assert.equal(behaviorId('liked', 'AME\u0301LIE\n (2001)'), id);
  assert.equal(behaviorId('liked', '\u200bam\u00e9lie\u3000(2001)'), id);
});

test('type is part of the identity and the separator keeps type and text apart', () => {
  assert.notEqual(behaviorId('liked', 'heat (1995)'), behaviorId('disliked', 'heat (1995)'));
  assert.notEqual(behaviorId('a', 'b c'), behaviorId('a_b', 'c'));
});

test('identifyBehavior returns the text the encoder should see', () => {
  const behavior = identifyBehavior('liked', ' Toy  STORY (1995) ');
  assert.deepEqual(behavior, {
    type: 'liked',
    text: 'toy story (1995)',
    id: 'a50742b2-fb23-5e75-b641-f9e1e099eae6',
  });
});

test('invalid types and texts get no id', () => {
  const invalid = (err: unknown) => isBaheError(err, 'BAHE_BEHAVIOR_TEXT_INVALID');
  assert.throws(() => behaviorId('Liked', 'x'), invalid);
  assert.throws(() => behaviorId('liked', ' \u200b '), invalid);
  assert.throws(() => behaviorId('liked', 'y'.repeat(1001)), invalid);
  assert.match(behaviorId('liked', 'y'.repeat(1001), { maxChars: 2000 }), V5_UUID);
});
