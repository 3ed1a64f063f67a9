import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envName, flagName, formatHelp, parseOptions } from '../../src/config/options.js';
import { isBaheError } from '../../src/errors.js';

const specs = {
  maxImpressions: { kind: 'integer', min: 1, default: 100, description: 'Impressions to train on.' },
  provider: { kind: 'string', choices: ['cpu', 'cuda'], default: 'cpu', description: 'Execution provider.' },
  dataDir: { kind: 'string', description: 'Dataset folder.' },
  apiKey: { kind: 'string', secret: true, description: 'Store API key.' },
  resume: { kind: 'boolean', default: true, description: 'Resume.' },
} as const;

test('flag and variable names derive from the option key', () => {
  assert.equal(flagName('maxImpressions'), 'max-impressions');
  assert.equal(envName('maxImpressions'), 'BAHE_MAX_IMPRESSIONS');
});

test('defaults apply, the environment fills in, and flags win over the environment', () => {
  const env = { BAHE_MAX_IMPRESSIONS: '50', BAHE_PROVIDER: 'cuda' };
  const { options } = parseOptions(specs, ['--provider', 'cpu'], env);
  assert.equal(options.maxImpressions, 50);
  assert.equal(options.provider, 'cpu');
  assert.equal(options.resume, true);
  assert.equal(options.dataDir, undefined);
});

test('an empty environment variable does not erase a default', () => {
  const { options } = parseOptions(specs, [], { BAHE_MAX_IMPRESSIONS: '' });
  assert.equal(options.maxImpressions, 100);
});

test('a bad value names the flag and the accepted range', () => {
  assert.throws(
    () => parseOptions(specs, ['--max-impressions', '0'], {}),
    (error: unknown) =>
      isBaheError(error, 'BAHE_CONFIG_INVALID') && /--max-impressions.*integer >= 1/.test(error.message),
  );
  assert.throws(() => parseOptions(specs, [], { BAHE_PROVIDER: 'tpu' }), /BAHE_PROVIDER.*cpu, cuda/);
  assert.throws(() => parseOptions(specs, ['--max-impressions', '2.5'], {}), /an integer/);
  assert.throws(() => parseOptions(specs, ['--unknown-flag'], {}), /--help/);
});

test('a secret value is never echoed in an error or in the help', () => {
  assert.throws(
    () => parseOptions({ apiKey: { ...specs.apiKey, kind: 'integer' } }, ['--api-key', 'hunter2'], {}),
    (error: unknown) => error instanceof Error && !error.message.includes('hunter2'),
  );
  const help = formatHelp('bahe run', 'Runs.', { apiKey: { ...specs.apiKey, default: 'hunter2' } });
  assert.ok(!help.includes('hunter2'));
  assert.match(help, /BAHE_API_KEY/);
});

test('flags take --name value, --name=value and --no-name; a negative number is a value, not a flag', () => {
  const { options } = parseOptions(specs, ['--max-impressions=7', '--no-resume', '--provider', 'cuda'], {});
  assert.equal(options.maxImpressions, 7);
  assert.equal(options.resume, false);
  assert.equal(options.provider, 'cuda');
  assert.throws(
    () => parseOptions(specs, ['--max-impressions', '-1'], {}),
    /--max-impressions is "-1"; accepted: an integer >= 1/,
  );
});

test('a typo gets the nearest option, a missing value and a stray word are refused', () => {
  assert.throws(() => parseOptions(specs, ['--max-impresions', '5'], {}), /did you mean --max-impressions\?/);
  assert.throws(() => parseOptions(specs, ['--data-dir'], {}), /--data-dir needs a value/);
  // Regression: `bahe run 5000` used to run with the default instead of failing.
  assert.throws(() => parseOptions(specs, ['5000'], {}), /unexpected argument "5000"/);
  assert.deepEqual(parseOptions(specs, ['a', '--', '--b'], {}, { allowPositionals: true }).positionals, [
    'a',
    '--b',
  ]);
});

test('integers beyond 2^53 are refused at parse time', () => {
  assert.throws(() => parseOptions(specs, ['--max-impressions', '99999999999999999999'], {}), /an integer/);
});
