import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OnnxEncoder } from '../../src/encoder/onnx-encoder.js';
import { WordPieceTokenizer } from '../../src/encoder/tokenizer.js';
import { ErrorCode, isBaheError } from '../../src/errors.js';
import { type LoadedModel, loadModel } from '../../src/model/load.js';
import { defaultModelDir, repoRoot, tempDir } from '../helpers/data.js';

const referenceFile = path.join(repoRoot, 'test', 'fixtures', 'encoder-reference.json');
const skip = existsSync(path.join(defaultModelDir, 'manifest.json'))
  ? false
  : `no compiled model at ${defaultModelDir}`;

let model: LoadedModel;
let encoder: OnnxEncoder;

before(async () => {
  if (skip) return;
  model = await loadModel(defaultModelDir, { verifyChecksums: false });
  encoder = await OnnxEncoder.fromModel(model, { intraOpThreads: 1, maxRunBatchSize: 3 });
});

after(async () => {
  await encoder?.close();
});

function cosine(a: Float32Array, b: ArrayLike<number>): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    aa += x * x;
    bb += y * y;
  }
  return dot / Math.sqrt(aa * bb);
}

test('every reference text encodes within cosine 0.999 of the full-precision vector', { skip }, async () => {
  const reference = JSON.parse(await readFile(referenceFile, 'utf8')) as {
    cases: Array<{ text: string; ids: number[]; embedding: number[] }>;
  };
  assert.ok(reference.cases.length > 0, 'the reference fixture holds no cases');

  const vectors = await encoder.encode(reference.cases.map((c) => c.text));

  reference.cases.forEach((c, i) => {
    const vector = vectors[i] as Float32Array;
    assert.deepEqual(encoder.tokenizer.encode(c.text), c.ids, `token ids of ${JSON.stringify(c.text)}`);
    assert.equal(vector.length, model.manifest.hiddenSize);
    const similarity = cosine(vector, c.embedding);
    assert.ok(similarity >= 0.999, `cosine ${similarity} for ${JSON.stringify(c.text)}`);
  });
});

test('vectors come back in the order of the texts, whatever their lengths', { skip }, async () => {
  const texts = [
    'a long title about a journey through mountains and valleys (1987)',
    'a',
    'Heat (1995)',
    'a long title about a journey through mountains and valleys (1987)',
    'Toy Story',
  ];
  const together = await encoder.encode(texts);
  const alone = await Promise.all(
    texts.map(async (text) => (await encoder.encode([text]))[0] as Float32Array),
  );

  assert.equal(together.length, texts.length);
  together.forEach((vector, i) => {
    assert.ok(cosine(vector, alone[i] as Float32Array) > 0.99999, `text ${i} moved`);
  });
  assert.ok(
    cosine(together[1] as Float32Array, together[2] as Float32Array) < 0.99,
    'distinct texts, distinct vectors',
  );
});

test('an empty batch gives no vectors and runs nothing', { skip }, async () => {
  assert.deepEqual(await encoder.encode([]), []);
});

test('a corrupt graph file is reported as an invalid model, naming the file', { skip }, async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = path.join(dir, 'encoder.onnx');
    const bytes = await readFile(model.files.encoder);
    await writeFile(file, bytes.subarray(0, 4096));
    await assert.rejects(
      OnnxEncoder.open({ file, tokenizer: encoder.tokenizer, hiddenSize: 384 }),
      (err) =>
        isBaheError(err, ErrorCode.MODEL_INVALID) &&
        err.message.includes(file) &&
        /corrupt/.test(err.message),
    );
  } finally {
    await cleanup();
  }
});

test('a graph that is not an encoder is refused at open', { skip }, async () => {
  await assert.rejects(
    OnnxEncoder.open({ file: model.files.aggregator, tokenizer: encoder.tokenizer, hiddenSize: 384 }),
    (err) => isBaheError(err, ErrorCode.MODEL_INVALID) && /is not an encoder graph/.test(err.message),
  );
});

test('an ONNX Runtime failure during a run becomes BAHE_MODEL_RUN_FAILED', { skip }, async () => {
  // A vocabulary larger than the graph's embedding table yields ids the graph cannot look up.
  const vocab = Array.from({ length: 40_000 }, (_, i) => `t${i}`);
  vocab[39_999] = 'overflow';
  const tokenizer = new WordPieceTokenizer(vocab, model.manifest.tokenizer);
  const broken = await OnnxEncoder.open({ file: model.files.encoder, tokenizer, hiddenSize: 384 });
  try {
    await assert.rejects(
      broken.encode(['overflow']),
      (err) => isBaheError(err, ErrorCode.MODEL_RUN_FAILED) && err.context.path === model.files.encoder,
    );
  } finally {
    await broken.close();
  }
});

test('requesting CUDA either runs on it or fails loudly saying what to install', { skip }, async () => {
  let cuda: OnnxEncoder | undefined;
  try {
    cuda = await OnnxEncoder.fromModel(model, { executionProviders: ['cuda'] });
  } catch (err) {
    assert.ok(
      isBaheError(err, ErrorCode.PROVIDER_UNAVAILABLE),
      `expected PROVIDER_UNAVAILABLE, got ${String(err)}`,
    );
    assert.match(err.message, /libonnxruntime_providers_cuda\.so/);
    assert.match(err.message, /--provider cpu/);
    return;
  }
  try {
    const [vector] = await cuda.encode(['Toy Story (1995)']);
    const [onCpu] = await encoder.encode(['Toy Story (1995)']);
    assert.ok(cosine(vector as Float32Array, onCpu as Float32Array) > 0.999);
  } finally {
    await cuda.close();
  }
});

test('a closed encoder refuses to encode; bad options fail at open', { skip }, async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = path.join(dir, 'encoder.onnx');
    await copyFile(model.files.encoder, file);
    const graph = { file, tokenizer: encoder.tokenizer, hiddenSize: 384 };
    const closing = await OnnxEncoder.open(graph);
    await closing.close();
    await assert.rejects(closing.encode(['x']), /closed/);

    for (const [options, field] of [
      [{ maxRunBatchSize: 0 }, 'maxRunBatchSize'],
      [{ intraOpThreads: -1 }, 'intraOpThreads'],
      [{ executionProviders: [] }, 'executionProviders'],
      [{ graphOptimizationLevel: 'fast' as never }, 'graphOptimizationLevel'],
    ] as const) {
      await assert.rejects(
        OnnxEncoder.open(graph, options),
        (err) => isBaheError(err, ErrorCode.CONFIG_INVALID) && err.context.field === field,
      );
    }
  } finally {
    await cleanup();
  }
});
