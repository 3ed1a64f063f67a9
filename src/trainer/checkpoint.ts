/**
 * Trainer checkpoints: everything needed to resume training exactly where it stopped, written
 * atomically into one folder that keeps the newest few.
 *
 * File layout (numbers little-endian):
 *
 *   0   magic "BAHECKPT"
 *   8   format version u32
 *   12  header length u32
 *   16  sha256 of the header JSON (32 bytes)
 *   48  header JSON (identity, counters, JSON states, tensor table, body length and sha256)
 *       zero padding to a multiple of 8
 *   ... body: the float32 tensors back to back, at the offsets the tensor table gives
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { fsyncDir, writeAll } from '../util/durable.js';
import type { AdamWState } from './adamw.js';

/** Which model a checkpoint belongs to; a checkpoint is only resumed by the same model. */
export interface ModelIdentity {
  modelName: string;
  encoderVersion: string;
  /** `parameterLayoutSha256` of the model's parameter table. */
  layoutSha256: string;
}

export interface Checkpoint {
  model: ModelIdentity;
  step: number;
  samplesSeen: number;
  /** Trainable parameters by name, in the parameter table's order. */
  parameters: Map<string, Float32Array>;
  optimizer: AdamWState;
  /** Where the source resumes, JSON-able: an event index for replay, topic -> partition -> offset for Kafka. */
  sourcePosition: unknown;
  /** Running evaluation state, JSON-able. */
  metrics: unknown;
  /** Side-feature statistics, JSON-able. */
  sideFeatures: unknown;
}

export interface WriteCheckpointOptions {
  /** How many checkpoints to keep, newest first; at least 1. */
  keep?: number;
  logger?: Logger;
}

export const CHECKPOINT_DEFAULTS = { keep: 3 };

export interface WrittenCheckpoint {
  path: string;
  /** Increases by one with every checkpoint written to the folder; the highest is the newest. */
  sequence: number;
  bytes: number;
}

export interface ReadCheckpointOptions {
  /** When given, a checkpoint of another model or parameter layout is refused. */
  expectedModel?: ModelIdentity;
  logger?: Logger;
}

/** A newer checkpoint file that was passed over, and why. */
export interface SkippedCheckpoint {
  path: string;
  reason: string;
}

export interface LatestCheckpoint {
  checkpoint: Checkpoint;
  path: string;
  /** Newer files that could not be read; empty when the newest one was used. */
  skipped: SkippedCheckpoint[];
}

const MAGIC = Buffer.from('BAHECKPT', 'ascii');
const FORMAT_VERSION = 1;
const PREFIX_BYTES = 48;
const FILE_PATTERN = /^checkpoint-(\d{8,})-step-(\d+)\.ckpt$/;
const TEMP_PREFIX = '.checkpoint-';

type TensorRole = 'parameter' | 'firstMoment' | 'secondMoment';

interface TensorEntry {
  name: string;
  role: TensorRole;
  /** Bytes from the start of the body. */
  offset: number;
  length: number;
}

interface Header {
  model: ModelIdentity;
  step: number;
  samplesSeen: number;
  optimizerStep: number;
  createdAt: string;
  sourcePosition: unknown;
  metrics: unknown;
  sideFeatures: unknown;
  tensors: TensorEntry[];
  bodyBytes: number;
  bodySha256: string;
}

/** The sha256 of a parameter table's names and shapes, in order: the model's layout identity. */
export function parameterLayoutSha256(
  entries: readonly { name: string; shape: readonly number[] }[],
): string {
  const layout = entries.map((entry) => [entry.name, [...entry.shape]]);
  return createHash('sha256').update(JSON.stringify(layout)).digest('hex');
}

/**
 * Writes `checkpoint` as the newest file in `dir` (temp file, fsync, rename, fsync of the folder),
 * then removes all but the newest `keep` and any temp file an earlier crash left behind.
 */
export async function writeCheckpoint(
  dir: string,
  checkpoint: Checkpoint,
  options: WriteCheckpointOptions = {},
): Promise<WrittenCheckpoint> {
  const keep = options.keep ?? CHECKPOINT_DEFAULTS.keep;
  if (!Number.isSafeInteger(keep) || keep < 1) {
    throw new BaheError(ErrorCode.CONFIG_INVALID, `keep must be an integer >= 1; got ${keep}`, {
      context: { field: 'keep' },
    });
  }
  const logger = options.logger ?? silentLogger();
  const tensors = tensorList(checkpoint);

  await mkdir(dir, { recursive: true });
  const existing = await listCheckpoints(dir);
  await removeTempFiles(dir, existing.temps);
  const sequence = (existing.files[0]?.sequence ?? 0) + 1;
  const name = `checkpoint-${String(sequence).padStart(8, '0')}-step-${checkpoint.step}.ckpt`;
  const target = path.join(dir, name);
  const temp = path.join(
    dir,
    `${TEMP_PREFIX}${sequence}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );

  const { prefix, bodyBytes } = encodeHeader(checkpoint, tensors);
  try {
    const handle = await open(temp, 'wx');
    try {
      await writeAll(handle, prefix);
      for (const { value } of tensors) await writeAll(handle, bytesOf(value));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (cause) {
    await rm(temp, { force: true });
    throw new BaheError(ErrorCode.CHECKPOINT_INVALID, `writing checkpoint ${target} failed; see the cause`, {
      cause,
      retryable: true,
      context: { path: target },
    });
  }
  await fsyncDir(dir);

  const outdated = existing.files.slice(Math.max(0, keep - 1));
  for (const file of outdated) await rm(path.join(dir, file.name), { force: true });
  if (outdated.length > 0) await fsyncDir(dir);

  const bytes = prefix.length + bodyBytes;
  logger.info(
    { path: target, step: checkpoint.step, samplesSeen: checkpoint.samplesSeen, bytes },
    'checkpoint written',
  );
  return { path: target, sequence, bytes };
}

/**
 * Reads the newest valid checkpoint in `dir`, or null when it holds none. A newest file that is
 * corrupt is passed over with a warning for the one before it; the result lists what was skipped.
 */
export async function readLatestCheckpoint(
  dir: string,
  options: ReadCheckpointOptions = {},
): Promise<LatestCheckpoint | null> {
  const logger = options.logger ?? silentLogger();
  const { files } = await listCheckpoints(dir);
  const skipped: SkippedCheckpoint[] = [];

  for (const file of files) {
    const filePath = path.join(dir, file.name);
    let checkpoint: Checkpoint;
    try {
      checkpoint = await readCheckpointFile(filePath);
    } catch (error) {
      if (!(error instanceof BaheError) || error.code !== ErrorCode.CHECKPOINT_INVALID) throw error;
      skipped.push({ path: filePath, reason: error.message });
      logger.warn({ path: filePath, err: error }, 'checkpoint unreadable; trying the one before it');
      continue;
    }

    if (options.expectedModel !== undefined) checkIdentity(filePath, checkpoint.model, options.expectedModel);
    if (skipped.length > 0) {
      logger.warn({ path: filePath, skipped: skipped.length }, 'resuming from an older checkpoint');
    }
    return { checkpoint, path: filePath, skipped };
  }

  if (skipped.length === 0) return null;
  throw new BaheError(
    ErrorCode.CHECKPOINT_INVALID,
    `none of the ${skipped.length} checkpoints in ${dir} can be read (${skipped[0]?.reason}); restore one ` +
      'from a backup, or use a fresh checkpoint dir to train from the initial parameters',
    { context: { path: dir } },
  );
}

/** Reads and verifies one checkpoint file; a damaged file fails with `BAHE_CHECKPOINT_INVALID`. */
export async function readCheckpointFile(filePath: string): Promise<Checkpoint> {
  const fail = (what: string): never => {
    throw new BaheError(ErrorCode.CHECKPOINT_INVALID, `checkpoint ${filePath} is damaged: ${what}`, {
      context: { path: filePath },
    });
  };
  let data: Buffer;
  try {
    data = await readFile(filePath);
  } catch (error) {
    // Any other read error (permissions, I/O) is not damage and must not silently skip a checkpoint.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return fail('the file disappeared while reading the folder');
  }

  if (data.length < PREFIX_BYTES || !data.subarray(0, 8).equals(MAGIC)) fail('not a bahe checkpoint file');
  const version = data.readUInt32LE(8);
  if (version !== FORMAT_VERSION) fail(`format version ${version}, expected ${FORMAT_VERSION}`);
  const headerBytes = data.readUInt32LE(12);
  const headerEnd = PREFIX_BYTES + headerBytes;
  if (headerEnd > data.length) fail('header runs past the end of the file');
  const headerText = data.subarray(PREFIX_BYTES, headerEnd);
  if (!sha256(headerText).equals(data.subarray(16, 48))) fail('header checksum mismatch');
  let header: Header;
  try {
    header = JSON.parse(headerText.toString('utf8')) as Header;
  } catch {
    return fail('header is not JSON');
  }

  const bodyStart = alignUp(headerEnd);
  const body = data.subarray(bodyStart);
  if (body.length !== header.bodyBytes) fail(`body is ${body.length} bytes, header says ${header.bodyBytes}`);
  if (sha256(body).toString('hex') !== header.bodySha256) fail('body checksum mismatch');

  const tensors: Record<TensorRole, Map<string, Float32Array>> = {
    parameter: new Map(),
    firstMoment: new Map(),
    secondMoment: new Map(),
  };
  for (const entry of header.tensors) {
    if (!(entry.role in tensors)) fail(`tensor ${entry.name} has unknown role ${entry.role}`);
    const end = entry.offset + entry.length * 4;
    if (end > body.length) fail(`tensor ${entry.name} runs past the body`);
    const copy = new Float32Array(entry.length);
    new Uint8Array(copy.buffer).set(body.subarray(entry.offset, end));
    tensors[entry.role].set(entry.name, copy);
  }

  return {
    model: header.model,
    step: header.step,
    samplesSeen: header.samplesSeen,
    parameters: tensors.parameter,
    optimizer: {
      step: header.optimizerStep,
      firstMoment: tensors.firstMoment,
      secondMoment: tensors.secondMoment,
    },
    sourcePosition: header.sourcePosition,
    metrics: header.metrics,
    sideFeatures: header.sideFeatures,
  };
}

/** Fails with BAHE_CHECKPOINT_INVALID unless the checkpoint at `filePath` belongs to `expected`. */
export function checkIdentity(filePath: string, found: ModelIdentity, expected: ModelIdentity): void {
  const same =
    found.modelName === expected.modelName &&
    found.encoderVersion === expected.encoderVersion &&
    found.layoutSha256 === expected.layoutSha256;
  if (same) return;
  const describe = (m: ModelIdentity) =>
    `${m.modelName} (encoder ${m.encoderVersion}, layout ${m.layoutSha256.slice(0, 12)})`;
  throw new BaheError(
    ErrorCode.CHECKPOINT_INVALID,
    `checkpoint ${filePath} belongs to model ${describe(found)}, not to the running model ` +
      `${describe(expected)}; use a fresh checkpoint dir for this model, or run the model the checkpoints belong to`,
    { context: { path: filePath, checkpointModel: found.modelName, model: expected.modelName } },
  );
}

interface NamedTensor extends Omit<TensorEntry, 'offset'> {
  value: Float32Array;
}

/** The tensors to write, in a fixed order, after checking that the checkpoint is whole and finite. */
function tensorList(checkpoint: Checkpoint): NamedTensor[] {
  const { model, step, samplesSeen, parameters, optimizer } = checkpoint;
  const invalid = (field: string, what: string): never => {
    throw new BaheError(ErrorCode.CHECKPOINT_INVALID, `checkpoint not written: ${field} ${what}`, {
      context: { field },
    });
  };
  for (const key of ['modelName', 'encoderVersion', 'layoutSha256'] as const) {
    if (typeof model?.[key] !== 'string' || model[key].length === 0) {
      invalid(`model.${key}`, 'must be a non-empty string');
    }
  }
  for (const [field, value] of [
    ['step', step],
    ['samplesSeen', samplesSeen],
    ['optimizer.step', optimizer.step],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) invalid(field, `must be an integer >= 0; got ${value}`);
  }

  const list: NamedTensor[] = [];
  for (const [name, value] of parameters) {
    const m = optimizer.firstMoment.get(name);
    const v = optimizer.secondMoment.get(name);
    if (m?.length !== value.length || v?.length !== value.length) {
      invalid('optimizer', `moments for parameter ${name} are missing or not ${value.length} values long`);
    }
    list.push({ name, role: 'parameter', length: value.length, value });
    list.push({ name, role: 'firstMoment', length: value.length, value: m as Float32Array });
    list.push({ name, role: 'secondMoment', length: value.length, value: v as Float32Array });
  }
  if (optimizer.firstMoment.size !== parameters.size || optimizer.secondMoment.size !== parameters.size) {
    invalid('optimizer', 'holds moments for parameters the checkpoint does not have');
  }

  for (const tensor of list) {
    if (!tensor.value.every(Number.isFinite)) {
      throw new BaheError(
        ErrorCode.TRAINING_DIVERGED,
        `checkpoint not written: ${tensor.role} ${tensor.name} holds a non-finite value; resume from the last checkpoint`,
        { context: { field: tensor.name } },
      );
    }
  }
  return list;
}

function encodeHeader(checkpoint: Checkpoint, tensors: NamedTensor[]): { prefix: Buffer; bodyBytes: number } {
  const hash = createHash('sha256');
  let offset = 0;
  const table: TensorEntry[] = tensors.map(({ name, role, length, value }) => {
    const entry = { name, role, offset, length };
    hash.update(bytesOf(value));
    offset += value.byteLength;
    return entry;
  });

  const header: Header = {
    model: checkpoint.model,
    step: checkpoint.step,
    samplesSeen: checkpoint.samplesSeen,
    optimizerStep: checkpoint.optimizer.step,
    createdAt: new Date().toISOString(),
    sourcePosition: checkpoint.sourcePosition,
    metrics: checkpoint.metrics,
    sideFeatures: checkpoint.sideFeatures,
    tensors: table,
    bodyBytes: offset,
    bodySha256: hash.digest('hex'),
  };
  const headerText = Buffer.from(JSON.stringify(header), 'utf8');

  const prefix = Buffer.alloc(alignUp(PREFIX_BYTES + headerText.length));
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(FORMAT_VERSION, 8);
  prefix.writeUInt32LE(headerText.length, 12);
  sha256(headerText).copy(prefix, 16);
  headerText.copy(prefix, PREFIX_BYTES);
  return { prefix, bodyBytes: offset };
}

interface CheckpointFile {
  name: string;
  sequence: number;
}

/** Paths of the checkpoint files in `dir`, newest first; empty when the folder does not exist. */
export async function checkpointFiles(dir: string): Promise<string[]> {
  const { files } = await listCheckpoints(dir);
  return files.map((file) => path.join(dir, file.name));
}

/** Checkpoint files newest first, and leftover temp files. */
async function listCheckpoints(dir: string): Promise<{ files: CheckpointFile[]; temps: string[] }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], temps: [] };
    throw error;
  }
  const files: CheckpointFile[] = [];
  for (const name of names) {
    const match = FILE_PATTERN.exec(name);
    if (match !== null) files.push({ name, sequence: Number(match[1]) });
  }
  files.sort((a, b) => b.sequence - a.sequence);
  return { files, temps: names.filter((name) => name.startsWith(TEMP_PREFIX)) };
}

/** Temp files are only ever half-written checkpoints of a run that crashed; one writer per folder. */
async function removeTempFiles(dir: string, temps: string[]): Promise<void> {
  for (const name of temps) await rm(path.join(dir, name), { force: true });
}

/** The float32 values' bytes as they sit in memory: little-endian on every platform Node ships for. */
function bytesOf(value: Float32Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}
