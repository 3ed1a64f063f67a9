import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { BaheError, ErrorCode } from '../errors.js';

/** Hex sha256 of a file, streamed so large graphs are not held in memory twice. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Fails with the file's name when its sha256 differs from the manifest's. */
export async function verifySha256(file: string, expected: string, field: string): Promise<void> {
  let actual: string;
  try {
    actual = await sha256File(file);
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
