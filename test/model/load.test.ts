import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ErrorCode, isBaheError } from '../../src/errors.js';
import { loadModel } from '../../src/model/load.js';
import { defaultModelDir, tempDir } from '../helpers/data.js';
import { BIAS, setField, WEIGHT, writeManifest, writeModelFolder } from './model-folder.js';

/** Runs `body` on a fresh synthetic model folder and removes it afterwards. */
async function withModelFolder(body: (dir: string, manifest: Record<string, unknown>) => Promise<void>) {
  const { dir, cleanup } = await tempDir('bahe-model-');
  try {
    await body(dir, await writeModelFolder(dir));
  } finally {
    await cleanup();
  }
}

/** Asserts that `promise` rejects with BAHE_MODEL_INVALID and a message matching every pattern. */
async function rejectsInvalid(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isBaheError(err, ErrorCode.MODEL_INVALID), `expected BAHE_MODEL_INVALID, got ${String(err)}`);
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  });
}

test('loads a model folder: absolute paths and parameters as float32 arrays', async () => {
  await withModelFolder(async (dir) => {
    const model = await loadModel(path.relative(process.cwd(), dir));

    assert.equal(model.dir, dir);
    assert.equal(model.files.encoder, path.join(dir, 'encoder.onnx'));
    assert.equal(model.files.vocab, path.join(dir, 'tokenizer', 'vocab.txt'));
    assert.deepEqual([...model.parameters.keys()], ['head.weight', 'head.bias']);
    assert.deepEqual(Array.from(model.parameters.get('head.weight') ?? []), WEIGHT.map(Math.fround));
    assert.deepEqual(Array.from(model.parameters.get('head.bias') ?? []), BIAS);
    assert.equal(model.manifest.tokenizer.maxTokens, 8);
  });
});

test('a missing folder is named and says what to point at', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await rejectsInvalid(loadModel(path.join(dir, 'nowhere')), /nowhere does not exist/, /model compiler/);
  } finally {
    await cleanup();
  }
});

test('a folder without manifest.json is not a compiled model', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await rejectsInvalid(loadModel(dir), /no manifest\.json/, /not a compiled model/);
  } finally {
    await cleanup();
  }
});

test('manifest.json that is not JSON is reported with the file', async () => {
  await withModelFolder(async (dir) => {
    await writeFile(path.join(dir, 'manifest.json'), '{"formatVersion": 1,');
    await rejectsInvalid(loadModel(dir), /manifest\.json is not valid JSON/, /re-run the model compiler/);
  });
});

test('a missing graph file is named', async () => {
  await withModelFolder(async (dir) => {
    await rm(path.join(dir, 'aggregator.onnx'));
    await rejectsInvalid(loadModel(dir), /aggregator\.onnx is missing/, /graphs\.aggregator/);
  });
});

test('a truncated parameter file fails its checksum, named', async () => {
  await withModelFolder(async (dir) => {
    await truncate(path.join(dir, 'params.init.bin'), 20);
    await rejectsInvalid(loadModel(dir), /params\.init\.bin has sha256 [0-9a-f]{64}/, /truncated/);
  });
});

test('a changed graph byte gives a hash mismatch naming the graph', async () => {
  await withModelFolder(async (dir) => {
    await appendFile(path.join(dir, 'encoder.onnx'), 'x');
    await rejectsInvalid(loadModel(dir), /encoder\.onnx has sha256/, /graphs\.encoder\.sha256/);
  });
});

test('a truncated parameter file is caught by its layout when checksums are skipped', async () => {
  await withModelFolder(async (dir) => {
    await truncate(path.join(dir, 'params.init.bin'), 28);
    await rejectsInvalid(loadModel(dir, { verifyChecksums: false }), /"head\.bias" ends at byte 36/);
  });
});

test('bad manifest fields are named with what to do', async () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['formatVersion', 2, /"formatVersion" is 2 but this service reads format 1/],
    ['hiddenSize', undefined, /"hiddenSize" is missing/],
    ['graphs.encoder.sha256', 'abc', /"graphs\.encoder\.sha256" must be 64/],
    ['graphs.trainStep.file', '../x.onnx', /"graphs\.trainStep\.file" must be a path/],
    ['parameters.entries.1.group', 'lower', /entries\[1\]\.group" names "lower"/],
    ['parameters.entries.1.offset', 20, /"head\.weight" overlaps "head\.bias"/],
    ['split.totalLayers', 3, /lowerLayers \+ upperLayers must equal totalLayers/],
    ['behaviorTypes', ['a', 'a'], /"behaviorTypes" must not repeat/],
    ['tokenizer.lowercase', 'yes', /"tokenizer\.lowercase" must be true or false/],
  ];
  for (const [name, value, pattern] of cases) {
    await withModelFolder(async (dir, manifest) => {
      setField(manifest, name, value);
      await writeManifest(dir, manifest);
      await rejectsInvalid(loadModel(dir), pattern, /manifest\.json/, /re-run the model compiler/).catch(
        (err) => {
          throw new Error(`case "${name}": ${(err as Error).message}`);
        },
      );
    });
  }
});

const defaultSkip = existsSync(path.join(defaultModelDir, 'manifest.json'))
  ? false
  : `no compiled model at ${defaultModelDir}`;

test('the default model loads and its parameters match the table', { skip: defaultSkip }, async () => {
  const model = await loadModel(defaultModelDir);
  const { manifest } = model;

  assert.equal(manifest.formatVersion, 1);
  assert.equal(model.parameters.size, manifest.parameters.entries.length);
  for (const entry of manifest.parameters.entries) {
    const values = model.parameters.get(entry.name);
    assert.ok(values, entry.name);
    assert.equal(
      values.length,
      entry.shape.reduce((n, d) => n * d, 1),
      entry.name,
    );
    assert.ok(values.every(Number.isFinite), `${entry.name} holds non-finite values`);
  }
  const vocab = await readFile(model.files.vocab, 'utf8');
  assert.equal(vocab.split('\n')[manifest.tokenizer.clsId], '[CLS]');
});

test('a vocabulary or tokenizer setting changed after compiling is refused by its encoder version', async () => {
  // Regression: a vocabulary with a line removed was accepted and its vectors stored under the old
  // encoder version, mixed with the good ones.
  await withModelFolder(async (dir, manifest) => {
    await appendFile(path.join(dir, 'tokenizer', 'vocab.txt'), 'extra\n');
    await assert.rejects(loadModel(dir), (error: unknown) => {
      return isBaheError(error, ErrorCode.MODEL_INVALID) && /encoder version/.test(error.message);
    });
    await writeFile(path.join(dir, 'tokenizer', 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n');
    await loadModel(dir);

    setField(manifest, 'tokenizer.maxTokens', 4);
    await writeManifest(dir, manifest);
    await assert.rejects(loadModel(dir), /encoder version e-[0-9a-f]{12}.*but the manifest says/);
  });
});
