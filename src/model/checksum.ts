import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { BaheError, ErrorCode } from '../errors.js';

/**
 * Hex sha256 of a file, streamed so large graphs are not held in memory twice. `alsoInto` receives
 * the same bytes, so a second digest over the file costs no second read.
 */
export async function sha256File(file: string, alsoInto?: Hash): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    alsoInto?.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** JSON with object keys sorted and no spaces, as the compiler hashes the tokenizer settings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort();
    return `{${entries.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Fails with the file's name when its sha256 differs from the manifest's. */
export async function verifySha256(
  file: string,
  expected: string,
  field: string,
  alsoInto?: Hash,
): Promise<void> {
  let actual: string;
  try {
    actual = await sha256File(file, alsoInto);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      missing
        ? `${file} is missing (the manifest's ${field} names it); re-run the model compiler or restore the file`
        : `cannot read ${file}; check the file's permissions`,
      { cause, context: { path: file, field } },
    );
  }
  if (actual !== expected) {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `${file} has sha256 ${actual} but the manifest's ${field} says ${expected}: the file is corrupt, ` +
        'truncated or from another compile; re-run the model compiler or restore the file',
      { context: { path: file, field } },
    );
  }
}

/**
 * The encoder version is part of where vectors live, so it must describe what really encodes: the
 * encoder graph, the vocabulary and the tokenizer settings ("e-" + 12 hex of their sha256, as the
 * compiler computes it). `encoderDigest` must already hold the encoder graph's bytes.
 */
export async function verifyEncoderVersion(
  encoderDigest: Hash,
  vocabFile: string,
  tokenizer: unknown,
  expected: string,
): Promise<void> {
  encoderDigest.update(await readFile(vocabFile));
  encoderDigest.update(canonicalJson(tokenizer), 'utf8');
  const actual = `e-${encoderDigest.digest('hex').slice(0, 12)}`;
  if (actual !== expected) {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `the encoder graph, ${vocabFile} and the manifest's tokenizer settings give encoder version ${actual}, ` +
        `but the manifest says ${expected}: the vocabulary or the tokenizer settings changed after compiling. ` +
        'Restore them, or re-run the model compiler (a new encoder version gets its own store and a backfill)',
      { context: { path: vocabFile, field: 'encoderVersion' } },
    );
  }
}
