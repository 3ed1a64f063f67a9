import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { BaheError, ErrorCode } from '../errors.js';
import type { LoadedModel } from '../model/load.js';
import { openSession, type SessionOptions } from './ort-session.js';
import { padBatch, WordPieceTokenizer } from './tokenizer.js';

export interface OnnxEncoderOptions extends SessionOptions {
  /** Rows per graph run at most; a larger `encode` call is split, shortest texts together. */
  maxRunBatchSize?: number;
}

// On CPU with short behavior texts (MovieLens titles, about 9 tokens), sorted runs of 32 encoded
// 1,000 titles about 25% faster than runs of 128 and 35% faster than runs of 256; GPUs want larger runs.
const DEFAULTS = { maxRunBatchSize: 32 };

const INPUT_IDS = 'input_ids';
const ATTENTION_MASK = 'attention_mask';
const EMBEDDING = 'embedding';

/** What an encoder needs besides options: the graph, its tokenizer and the vector width. */
export interface EncoderGraph {
  file: string;
  tokenizer: WordPieceTokenizer;
  hiddenSize: number;
}

/** The frozen lower layers: behavior texts in, one pooled vector per text out. */
export class OnnxEncoder {
  readonly tokenizer: WordPieceTokenizer;
  /** Length of every vector `encode` returns. */
  readonly dimension: number;
  readonly maxRunBatchSize: number;
  private readonly file: string;
  private session: InferenceSession | undefined;

  private constructor(graph: EncoderGraph, session: InferenceSession, maxRunBatchSize: number) {
    this.file = graph.file;
    this.tokenizer = graph.tokenizer;
    this.dimension = graph.hiddenSize;
    this.session = session;
    this.maxRunBatchSize = maxRunBatchSize;
  }

  /** Opens the encoder of a loaded model folder with that model's vocabulary and tokenizer settings. */
  static async fromModel(model: LoadedModel, options: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    const tokenizer = await WordPieceTokenizer.fromVocabFile(model.files.vocab, model.manifest.tokenizer);
    return OnnxEncoder.open(
      { file: model.files.encoder, tokenizer, hiddenSize: model.manifest.hiddenSize },
      options,
    );
  }

  /** Opens an encoder graph; fails if its inputs and outputs are not the encoder's. */
  static async open(graph: EncoderGraph, options: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    const maxRunBatchSize = options.maxRunBatchSize ?? DEFAULTS.maxRunBatchSize;
    if (!Number.isInteger(maxRunBatchSize) || maxRunBatchSize < 1 || maxRunBatchSize > 65_536) {
      throw new BaheError(
        ErrorCode.CONFIG_INVALID,
        `maxRunBatchSize must be an integer in [1, 65536], got ${String(maxRunBatchSize)}`,
        { context: { field: 'maxRunBatchSize' } },
      );
    }
    const session = await openSession(graph.file, options);

    const missing = [INPUT_IDS, ATTENTION_MASK].filter((name) => !session.inputNames.includes(name));
    if (missing.length > 0 || !session.outputNames.includes(EMBEDDING)) {
      await session.release();
      throw new BaheError(
        ErrorCode.MODEL_INVALID,
        `${graph.file} is not an encoder graph: it takes [${session.inputNames.join(', ')}] and gives ` +
          `[${session.outputNames.join(', ')}], expected ${INPUT_IDS} and ${ATTENTION_MASK} in and ${EMBEDDING} ` +
          'out; point graphs.encoder at the encoder the model compiler wrote',
        { context: { path: graph.file } },
      );
    }
    return new OnnxEncoder(graph, session, maxRunBatchSize);
  }

  /** One vector per text, in the texts' order. */
  async encode(texts: readonly string[]): Promise<Float32Array[]> {
    const session = this.session;
    if (session === undefined) throw new Error(`the encoder for ${this.file} is closed; open a new one`);
    if (texts.length === 0) return [];

    const rows = texts.map((text) => this.tokenizer.encode(text));
    // Shortest first, so each run pads only to a length close to its own texts'.
    const order = rows.map((_, i) => i).sort((a, b) => (rows[a]?.length ?? 0) - (rows[b]?.length ?? 0));
    const vectors = new Array<Float32Array>(texts.length);

    for (let start = 0; start < order.length; start += this.maxRunBatchSize) {
      const indices = order.slice(start, start + this.maxRunBatchSize);
      const flat = await this.run(
        session,
        indices.map((i) => rows[i] as number[]),
      );
      indices.forEach((textIndex, r) => {
        vectors[textIndex] = flat.slice(r * this.dimension, (r + 1) * this.dimension);
      });
    }
    return vectors;
  }

  /** Releases the ONNX Runtime session; `encode` fails afterwards. */
  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }

  /** One graph run; ONNX Runtime's errors become the service's here and nowhere else. */
  private async run(session: InferenceSession, rows: number[][]): Promise<Float32Array> {
    const batch = padBatch(rows, this.tokenizer.settings.padId);
    const shape = [batch.batchSize, batch.seqLen];
    let output: InferenceSession.OnnxValueMapType;
    try {
      output = await session.run({
        [INPUT_IDS]: new Tensor('int64', batch.ids, shape),
        [ATTENTION_MASK]: new Tensor('int64', batch.mask, shape),
      });
    } catch (cause) {
      throw new BaheError(
        ErrorCode.MODEL_RUN_FAILED,
        `ONNX Runtime failed running the encoder ${this.file} on a batch of ${batch.batchSize} texts ` +
          `(${cause instanceof Error ? cause.message : String(cause)})`,
        { cause, context: { path: this.file, batchSize: batch.batchSize, seqLen: batch.seqLen } },
      );
    }

    const embedding = output[EMBEDDING] as Tensor | undefined;
    const expected = batch.batchSize * this.dimension;
    if (embedding?.type !== 'float32' || embedding.data.length !== expected) {
      throw new BaheError(
        ErrorCode.MODEL_INVALID,
        `the encoder ${this.file} returned ${embedding?.type ?? 'no'} ${EMBEDDING} of dims ` +
          `[${embedding?.dims.join(', ') ?? ''}], expected float32 [${batch.batchSize}, ${this.dimension}]; ` +
          'the manifest and the graph disagree, re-run the model compiler',
        { context: { path: this.file, field: 'hiddenSize' } },
      );
    }
    return embedding.data as Float32Array;
  }
}
