import { readFile } from 'node:fs/promises';
import { BaheError, ErrorCode } from '../errors.js';
import { type ParameterEntry, parameterBytes } from './manifest.js';

/** Trainable parameters by name, in the parameter table's order. */
export type ParameterSet = Map<string, Float32Array>;

/** Reads a little-endian float32 parameter file into one array per parameter-table entry. */
export async function loadParameters(
  file: string,
  entries: readonly ParameterEntry[],
): Promise<ParameterSet> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `cannot read the parameter file ${file}; re-run the model compiler`,
      {
        cause,
        context: { path: file },
      },
    );
  }
  return parseParameters(bytes, entries, file);
}

/** Splits parameter bytes per the table; `file` names the source in error messages. */
export function parseParameters(
  bytes: Uint8Array,
  entries: readonly ParameterEntry[],
  file: string,
): ParameterSet {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const params: ParameterSet = new Map();
  for (const entry of entries) {
    const end = entry.offset + parameterBytes(entry);
    if (end > bytes.byteLength) {
      throw new BaheError(
        ErrorCode.MODEL_INVALID,
        `${file} has ${bytes.byteLength} bytes but parameter "${entry.name}" ends at byte ${end}: ` +
          'the file is truncated or belongs to another manifest; re-run the model compiler',
        { context: { path: file, field: entry.name } },
      );
    }
    // A DataView read is independent of the host's byte order and of the buffer's alignment.
    const values = new Float32Array((end - entry.offset) / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(entry.offset + i * 4, true);
    params.set(entry.name, values);
  }
  return params;
}
