import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../../src/model/checksum.js';

/** Parameter values the synthetic model folder holds: a [2, 3] weight then a [3] bias. */
export const WEIGHT = [1, -2, 3.5, 0.25, -0.125, 1e-3];
export const BIAS = [7, 8, 9];

/**
 * Writes a folder in the compiled model format with stand-in graph bytes, a real parameter file and a
 * tiny vocabulary: enough for the loader, which checks hashes and layout but does not run graphs.
 */
export async function writeModelFolder(dir: string): Promise<Record<string, unknown>> {
  await mkdir(path.join(dir, 'tokenizer'), { recursive: true });
  const graphs: Record<string, { file: string; sha256: string }> = {};
  const encoderDigest = createHash('sha256');
  for (const [key, file] of [
    ['encoder', 'encoder.onnx'],
    ['aggregator', 'aggregator.onnx'],
    ['trainStep', 'train_step.onnx'],
  ] as const) {
    const bytes = Buffer.from(`stand-in bytes of ${file}`);
    await writeFile(path.join(dir, file), bytes);
    graphs[key] = { file, sha256: sha256(bytes) };
    if (key === 'encoder') encoderDigest.update(bytes);
  }

  const params = Buffer.alloc((WEIGHT.length + BIAS.length) * 4);
  for (const [i, value] of [...WEIGHT, ...BIAS].entries()) params.writeFloatLE(value, i * 4);
  await writeFile(path.join(dir, 'params.init.bin'), params);
  const vocab = '[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n';
  await writeFile(path.join(dir, 'tokenizer', 'vocab.txt'), vocab);
  const tokenizer = {
    vocab: 'tokenizer/vocab.txt',
    lowercase: true,
    stripAccents: true,
    maxTokens: 8,
    clsId: 2,
    sepId: 3,
    padId: 0,
    unkId: 1,
  };
  // The encoder version recipe of the compiler: graph bytes, vocabulary bytes, canonical settings.
  encoderDigest.update(vocab).update(canonicalJson(tokenizer));

  const manifest = {
    formatVersion: 1,
    name: 'synthetic',
    encoderVersion: `e-${encoderDigest.digest('hex').slice(0, 12)}`,
    toolVersion: '0.1.0',
    source: { checkpoint: 'none' },
    split: { lowerLayers: 1, upperLayers: 1, totalLayers: 2 },
    hiddenSize: 3,
    tokenizer,
    behaviorTypes: ['liked', 'disliked'],
    maxHistoryPerType: 4,
    sideFeatures: ['user_lift'],
    trainBatchSize: 8,
    graphs,
    parameters: {
      file: 'params.init.bin',
      sha256: sha256(params),
      dtype: 'float32',
      entries: [
        { name: 'head.weight', shape: [2, 3], offset: 0, group: 'head' },
        { name: 'head.bias', shape: [3], offset: WEIGHT.length * 4, group: 'head' },
      ],
    },
    training: { learningRate: { upper: 5e-5, head: 1e-3 }, weightDecay: 0.01 },
    checks: {},
  };
  await writeManifest(dir, manifest);
  return manifest;
}

export async function writeManifest(dir: string, manifest: unknown): Promise<void> {
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

/** Sets (or with `undefined` deletes) the value at a dotted path such as `parameters.entries.1.group`. */
export function setField(json: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  const last = parts.pop() as string;
  let node = json as Record<string, unknown>;
  for (const part of parts) node = node[part] as Record<string, unknown>;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
