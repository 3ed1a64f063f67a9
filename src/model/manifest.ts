import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TokenizerSettings } from '../encoder/tokenizer.js';
import { BaheError, ErrorCode } from '../errors.js';

/** The compiled model format version this service reads. */
export const MODEL_FORMAT_VERSION = 1;

export interface GraphFile {
  /** Path relative to the model folder. */
  file: string;
  sha256: string;
  /** Input and output names, when the compiler lists them. */
  inputs?: string[];
  outputs?: string[];
}

export interface ParameterEntry {
  name: string;
  shape: number[];
  /** Bytes from the start of the parameter file. */
  offset: number;
  /** Selects the optimizer settings, a key of `training.learningRate`. */
  group: string;
}

export interface ModelManifest {
  formatVersion: number;
  name: string;
  /** Identifies the encoder graph, vocabulary and tokenizer settings; part of where vectors live. */
  encoderVersion: string;
  toolVersion: string;
  source: Record<string, unknown>;
  split: { lowerLayers: number; upperLayers: number; totalLayers: number };
  hiddenSize: number;
  tokenizer: TokenizerSettings & { vocab: string };
  behaviorTypes: string[];
  maxHistoryPerType: number;
  sideFeatures: string[];
  trainBatchSize: number;
  graphs: { encoder: GraphFile; aggregator: GraphFile; trainStep: GraphFile };
  parameters: { file: string; sha256: string; dtype: 'float32'; entries: ParameterEntry[] };
  training: TrainingSettings;
  /** What the compiler measured (precision, gradient checks); kept as written, not read by the service. */
  checks: Record<string, unknown>;
}

export interface TrainingSettings {
  learningRate: Record<string, number>;
  weightDecay: number;
  /** The remaining settings are optional in the format; the trainer picks its defaults when absent. */
  optimizer?: string;
  betas?: [number, number];
  epsilon?: number;
  maxGradNorm?: number;
}

export const MANIFEST_FILE = 'manifest.json';

/** Reads and validates `manifest.json` in a compiled model folder. */
export async function readManifest(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      missing
        ? `${dir} has no ${MANIFEST_FILE}: the folder is not a compiled model; point the model directory ` +
            'at a folder written by the model compiler (tools/model-compiler)'
        : `cannot read ${file}; check the file's permissions`,
      { cause, context: { path: file } },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `${file} is not valid JSON (${(cause as Error).message}); re-run the model compiler`,
      { cause, context: { path: file } },
    );
  }
  return parseManifest(json, file);
}

/** Checks every field the service uses; `file` names the manifest in error messages. */
export function parseManifest(json: unknown, file: string): ModelManifest {
  const v = new Validator(file);
  const root = v.object(json, '');

  const formatVersion = v.integer(root, 'formatVersion', 1, Number.MAX_SAFE_INTEGER);
  if (formatVersion !== MODEL_FORMAT_VERSION) {
    v.fail(
      'formatVersion',
      `is ${formatVersion} but this service reads format ${MODEL_FORMAT_VERSION}; ` +
        'compile the model with the model compiler of this release',
    );
  }
  const encoderVersion = v.string(root, 'encoderVersion');
  if (!/^e-[0-9a-f]{12}$/.test(encoderVersion)) v.fail('encoderVersion', 'must look like e-<12 hex digits>');

  const splitObject = v.object(root.split, 'split');
  const split = {
    lowerLayers: v.integer(splitObject, 'split.lowerLayers', 1, 1024),
    upperLayers: v.integer(splitObject, 'split.upperLayers', 1, 1024),
    totalLayers: v.integer(splitObject, 'split.totalLayers', 2, 2048),
  };
  if (split.lowerLayers + split.upperLayers !== split.totalLayers) {
    v.fail('split', 'lowerLayers + upperLayers must equal totalLayers');
  }

  const tok = v.object(root.tokenizer, 'tokenizer');
  const tokenizer = {
    vocab: v.relativePath(tok, 'tokenizer.vocab'),
    lowercase: v.boolean(tok, 'tokenizer.lowercase'),
    stripAccents: v.boolean(tok, 'tokenizer.stripAccents'),
    maxTokens: v.integer(tok, 'tokenizer.maxTokens', 3, 4096),
    clsId: v.integer(tok, 'tokenizer.clsId', 0, Number.MAX_SAFE_INTEGER),
    sepId: v.integer(tok, 'tokenizer.sepId', 0, Number.MAX_SAFE_INTEGER),
    padId: v.integer(tok, 'tokenizer.padId', 0, Number.MAX_SAFE_INTEGER),
    unkId: v.integer(tok, 'tokenizer.unkId', 0, Number.MAX_SAFE_INTEGER),
  };

  const graphsObject = v.object(root.graphs, 'graphs');
  const graphs = {
    encoder: v.graph(graphsObject, 'graphs.encoder'),
    aggregator: v.graph(graphsObject, 'graphs.aggregator'),
    trainStep: v.graph(graphsObject, 'graphs.trainStep'),
  };

  const trainingObject = v.object(root.training, 'training');
  const rates = v.object(trainingObject.learningRate, 'training.learningRate');
  const learningRate: Record<string, number> = {};
  for (const group of Object.keys(rates)) {
    learningRate[group] = v.number(rates, `training.learningRate.${group}`, 0, 10);
  }
  const training: TrainingSettings = {
    learningRate,
    weightDecay: v.number(trainingObject, 'training.weightDecay', 0, 10),
  };
  if (trainingObject.optimizer !== undefined)
    training.optimizer = v.string(trainingObject, 'training.optimizer');
  if (trainingObject.betas !== undefined) {
    const betas = trainingObject.betas;
    const valid =
      Array.isArray(betas) &&
      betas.length === 2 &&
      betas.every((b) => typeof b === 'number' && b >= 0 && b < 1);
    if (!valid) v.fail('training.betas', 'must be two numbers in [0, 1)');
    training.betas = betas as [number, number];
  }
  if (trainingObject.epsilon !== undefined)
    training.epsilon = v.number(trainingObject, 'training.epsilon', 0, 1);
  if (trainingObject.maxGradNorm !== undefined) {
    training.maxGradNorm = v.number(trainingObject, 'training.maxGradNorm', 0, Number.MAX_VALUE);
  }

  const params = v.object(root.parameters, 'parameters');
  if (params.dtype !== 'float32') v.fail('parameters.dtype', 'must be "float32"');
  const parameters = {
    file: v.relativePath(params, 'parameters.file'),
    sha256: v.sha256(params, 'parameters.sha256'),
    dtype: 'float32' as const,
    entries: v.parameterEntries(params.entries, learningRate),
  };
  const floats = parameters.entries.reduce((n, entry) => n + parameterBytes(entry) / 4, 0);
  if (params.count !== undefined && params.count !== floats) {
    v.fail('parameters.count', `is ${JSON.stringify(params.count)} but the entries hold ${floats} floats`);
  }

  return {
    formatVersion,
    name: v.string(root, 'name'),
    encoderVersion,
    toolVersion: v.string(root, 'toolVersion'),
    source: v.object(root.source, 'source'),
    split,
    hiddenSize: v.integer(root, 'hiddenSize', 1, 65_536),
    tokenizer,
    behaviorTypes: v.uniqueStrings(root, 'behaviorTypes'),
    maxHistoryPerType: v.integer(root, 'maxHistoryPerType', 1, 100_000),
    sideFeatures: v.uniqueStrings(root, 'sideFeatures'),
    trainBatchSize: v.integer(root, 'trainBatchSize', 1, 1_000_000),
    graphs,
    parameters,
    training,
    checks: root.checks === undefined ? {} : v.object(root.checks, 'checks'),
  };
}

type Json = Record<string, unknown>;

/** Field checks that name the manifest and the field's path in every error. */
class Validator {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `${this.file}: field "${field}" ${problem}; re-run the model compiler to write a valid manifest`,
      { context: { path: this.file, field } },
    );
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      if (field === '') this.fail('(root)', 'must be a JSON object');
      this.fail(field, value === undefined ? 'is missing' : 'must be an object');
    }
    return value as Json;
  }

  string(obj: Json, field: string): string {
    const value = obj[lastPart(field)];
    if (typeof value !== 'string' || value === '')
      this.fail(field, this.expected('a non-empty string', value));
    return value;
  }

  boolean(obj: Json, field: string): boolean {
    const value = obj[lastPart(field)];
    if (typeof value !== 'boolean') this.fail(field, this.expected('true or false', value));
    return value;
  }

  integer(obj: Json, field: string, min: number, max: number): number {
    const value = obj[lastPart(field)];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, this.expected(`an integer in [${min}, ${max}]`, value));
    }
    return value;
  }

  number(obj: Json, field: string, min: number, max: number): number {
    const value = obj[lastPart(field)];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.fail(field, this.expected(`a number in [${min}, ${max}]`, value));
    }
    return value;
  }

  /** A path inside the model folder: relative, without `..`, so a manifest cannot point elsewhere. */
  relativePath(obj: Json, field: string): string {
    const value = this.string(obj, field);
    const normalized = path.posix.normalize(value);
    if (path.isAbsolute(value) || normalized.startsWith('..') || value.includes('\\')) {
      this.fail(field, `must be a path inside the model folder, got ${JSON.stringify(value)}`);
    }
    return normalized;
  }

  sha256(obj: Json, field: string): string {
    const value = this.string(obj, field);
    if (!/^[0-9a-f]{64}$/.test(value)) this.fail(field, 'must be 64 lowercase hex digits (a sha256)');
    return value;
  }

  graph(graphs: Json, field: string): GraphFile {
    const obj = this.object(graphs[lastPart(field)], field);
    const graph: GraphFile = {
      file: this.relativePath(obj, `${field}.file`),
      sha256: this.sha256(obj, `${field}.sha256`),
    };
    if (obj.inputs !== undefined) graph.inputs = this.uniqueStrings(obj, `${field}.inputs`);
    if (obj.outputs !== undefined) graph.outputs = this.uniqueStrings(obj, `${field}.outputs`);
    return graph;
  }

  uniqueStrings(obj: Json, field: string): string[] {
    const value = obj[lastPart(field)];
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      !value.every((s) => typeof s === 'string' && s !== '')
    ) {
      this.fail(field, this.expected('a non-empty array of non-empty strings', value));
    }
    if (new Set(value).size !== value.length) this.fail(field, 'must not repeat a name');
    return value as string[];
  }

  /** Entries must be named once, have known groups, start on a float boundary and not overlap. */
  parameterEntries(value: unknown, learningRate: Record<string, number>): ParameterEntry[] {
    if (!Array.isArray(value) || value.length === 0) {
      this.fail('parameters.entries', this.expected('a non-empty array', value));
    }
    const entries = value.map((item, i): ParameterEntry => {
      const field = `parameters.entries[${i}]`;
      const obj = this.object(item, field);
      const shapeValue = obj.shape;
      const validShape =
        Array.isArray(shapeValue) &&
        shapeValue.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0);
      if (!validShape)
        this.fail(`${field}.shape`, this.expected('an array of positive integers', shapeValue));
      const entry = {
        name: this.string(obj, `${field}.name`),
        shape: shapeValue as number[],
        offset: this.integer(obj, `${field}.offset`, 0, Number.MAX_SAFE_INTEGER),
        group: this.string(obj, `${field}.group`),
      };
      if (entry.offset % 4 !== 0) this.fail(`${field}.offset`, 'must be a multiple of 4 (float32)');
      if (!(entry.group in learningRate)) {
        this.fail(`${field}.group`, `names "${entry.group}", which training.learningRate does not list`);
      }
      return entry;
    });

    const names = new Set<string>();
    for (const entry of entries) {
      if (names.has(entry.name)) this.fail('parameters.entries', `repeats the name "${entry.name}"`);
      names.add(entry.name);
    }
    const byOffset = [...entries].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < byOffset.length; i++) {
      const previous = byOffset[i - 1] as ParameterEntry;
      const current = byOffset[i] as ParameterEntry;
      if (previous.offset + parameterBytes(previous) > current.offset) {
        this.fail('parameters.entries', `"${previous.name}" overlaps "${current.name}"`);
      }
    }
    return entries;
  }

  private expected(what: string, got: unknown): string {
    return got === undefined
      ? `is missing (expected ${what})`
      : `must be ${what}, got ${JSON.stringify(got)}`;
  }
}

/** Bytes one parameter takes in the parameter file. */
export function parameterBytes(entry: ParameterEntry): number {
  return entry.shape.reduce((n, d) => n * d, 1) * 4;
}

function lastPart(field: string): string {
  return field.slice(field.lastIndexOf('.') + 1);
}
