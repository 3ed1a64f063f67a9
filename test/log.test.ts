import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parseOptions } from '../src/config/options.js';
import { childLogger, createLogger } from '../src/log.js';
import { EmbeddedStore } from '../src/store/embedded.js';
import { openStore, STORE_OPTION_SPECS } from '../src/store/select.js';
import { tempDir } from './helpers/data.js';

function capture(): { destination: Writable; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.length > 0),
      );
      done();
    },
  });
  return { destination, lines };
}

const occurrences = (line: string, key: string) => line.split(`"${key}":`).length - 1;

test('a child logger leaves out bindings its parent already carries, so each key appears once per line', () => {
  const { destination, lines } = capture();
  const root = createLogger({ format: 'json', destination }).child({ encoderVersion: 'e-1', model: 'm' });
  childLogger(root, { encoderVersion: 'e-1', store: 'embedded' }).info('one');
  assert.equal(lines.length, 1);
  const line = lines[0] as string;
  assert.equal(occurrences(line, 'encoderVersion'), 1);
  assert.deepEqual(
    [JSON.parse(line).encoderVersion, JSON.parse(line).store, JSON.parse(line).model],
    ['e-1', 'embedded', 'm'],
  );
});

test("the embedded store's and its catalog's log lines under a service logger name the encoder version once", async (t) => {
  const { dir, cleanup } = await tempDir('bahe-log-');
  t.after(cleanup);
  const { destination, lines } = capture();
  const logger = createLogger({ format: 'json', destination }).child({ encoderVersion: 'e-2' });
  const store = new EmbeddedStore({ dir, encoderVersion: 'e-2', dimension: 4, logger });
  await store.open();
  await store.close();
  const options = parseOptions(STORE_OPTION_SPECS, ['--store', 'embedded', '--store-dir', dir], {}).options;
  const opened = await openStore(options, { encoderVersion: 'e-2', dimension: 4 }, logger);
  await opened.close();
  assert.ok(
    lines.some((line) => line.includes('alias created')),
    'the catalog created its alias',
  );
  for (const line of lines) assert.equal(occurrences(line, 'encoderVersion'), 1, line);
});
