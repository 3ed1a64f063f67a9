import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseBroker } from '../../../scripts/test-broker/choose.js';
import { isBaheError } from '../../../src/errors.js';

const open = async () => undefined;
const closed = async () => 'no container runtime answers';
const unasked = async (): Promise<string | undefined> => {
  throw new Error('the container runtime must not be asked');
};

test('BAHE_KAFKA_BROKERS wins over every mode, without asking for a container runtime', async () => {
  for (const requested of ['auto', 'container', 'local', 'none']) {
    const choice = await chooseBroker(requested, {
      externalBrokers: '10.0.0.1:9092',
      containerUnavailable: unasked,
    });
    assert.equal(choice.mode, 'external');
  }
});

test('an empty BAHE_KAFKA_BROKERS counts as unset', async () => {
  const choice = await chooseBroker('local', { externalBrokers: ' ', containerUnavailable: unasked });
  assert.equal(choice.mode, 'local');
});

test('local and none are taken as asked, without asking for a container runtime', async () => {
  assert.equal(
    (await chooseBroker('local', { externalBrokers: undefined, containerUnavailable: unasked })).mode,
    'local',
  );
  assert.equal(
    (await chooseBroker('none', { externalBrokers: undefined, containerUnavailable: unasked })).mode,
    'none',
  );
});

test('auto takes the container when its path is open and the local broker, saying why, when it is closed', async () => {
  assert.equal(
    (await chooseBroker('auto', { externalBrokers: undefined, containerUnavailable: open })).mode,
    'container',
  );
  const fallback = await chooseBroker('auto', { externalBrokers: undefined, containerUnavailable: closed });
  assert.equal(fallback.mode, 'local');
  assert.match(fallback.reason, /no container runtime answers/);
});

test('container asked for on a closed path is an error that says why, never a silent fallback', async () => {
  await assert.rejects(
    chooseBroker('container', { externalBrokers: undefined, containerUnavailable: closed }),
    (err) => isBaheError(err, 'BAHE_CONFIG_INVALID') && /no container runtime answers/.test(err.message),
  );
});
