import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BehaviorIdentityCache } from '../../../src/behavior/identity-cache.js';
import { isBaheError } from '../../../src/errors.js';
import { AdmissionCounter } from '../../../src/services/encoder/admission.js';
import {
  type BehaviorRefMessage,
  decodeBehaviorRef,
  encodeBehaviorRef,
} from '../../../src/services/encoder/behavior-ref-message.js';
import { BehaviorRefFolder } from '../../../src/services/encoder/router.js';

const identities = new BehaviorIdentityCache();

function refOf(type: string, text: string, seenMs = 10): BehaviorRefMessage {
  const identity = identities.identify(type, text);
  return { ...identity, seenMs, lastSeenMs: seenMs, count: 1, sightings: 0 };
}

test('a behavior reference survives encode and decode unchanged', () => {
  const ref = { ...refOf('liked', '  The  Film (1995) '), lastSeenMs: 20, count: 3, sightings: 2 };
  assert.deepEqual(decodeBehaviorRef(encodeBehaviorRef(ref), identities), ref);
});

test('unreadable or inconsistent references are BAHE_EVENT_INVALID, each with its reason', () => {
  const good = JSON.parse(encodeBehaviorRef(refOf('liked', 'A title')).toString()) as Record<string, unknown>;
  const other = refOf('liked', 'Another title');
  const cases: [string, Buffer | null][] = [
    ['no value', null],
    ['not JSON', Buffer.from('{not json')],
    ['version', Buffer.from(JSON.stringify({ ...good, v: 2 }))],
    ['count', Buffer.from(JSON.stringify({ ...good, count: 0 }))],
    ['sightings', Buffer.from(JSON.stringify({ ...good, sightings: 2 }))],
    ['lastSeenMs', Buffer.from(JSON.stringify({ ...good, lastSeenMs: 1 }))],
    ['id of another behavior', Buffer.from(JSON.stringify({ ...good, id: other.id }))],
    ['invalid type', Buffer.from(JSON.stringify({ ...good, type: 'Not A Type' }))],
    ['blank text', Buffer.from(JSON.stringify({ ...good, text: '   ' }))],
  ];
  for (const [name, value] of cases) {
    assert.throws(
      () => decodeBehaviorRef(value, identities),
      (error: unknown) => isBaheError(error, 'BAHE_EVENT_INVALID') && error.message.length > 20,
      name,
    );
  }
});

test('the folder sends each behavior once with its mention count, earliest and latest time and sightings', () => {
  const folder = new BehaviorRefFolder();
  const a = identities.identify('liked', 'A title');
  folder.add({ ...a, seenMs: 30 }, true);
  folder.add({ ...identities.identify('liked', 'a   TITLE'), seenMs: 10 }, false);
  folder.add({ ...identities.identify('item', 'A title'), seenMs: 20 }, false);
  assert.equal(folder.mentions, 3);
  const refs = folder.refs();
  assert.equal(refs.length, 2);
  assert.deepEqual(refs[0], { ...a, seenMs: 10, lastSeenMs: 30, count: 2, sightings: 1 });
});

test('admission: a behavior is admitted on its k-th mention, per partition, and counts of a lost partition are dropped', () => {
  const counter = new AdmissionCounter(3);
  assert.equal(counter.admit(0, 'x', 1), false);
  assert.equal(counter.admit(1, 'x', 2), false);
  assert.equal(counter.admit(0, 'x', 1), false);
  assert.equal(counter.admit(0, 'x', 1), true);
  assert.equal(counter.admit(0, 'x', 1), true, 'an admitted behavior stays admitted');
  assert.equal(counter.pending, 1);
  counter.retainOnly([0]);
  assert.equal(counter.pending, 0);
  assert.equal(counter.admit(1, 'x', 2), false, 'partition 1 starts counting afresh');
  assert.equal(new AdmissionCounter(1).admit(0, 'y', 1), true);
});
