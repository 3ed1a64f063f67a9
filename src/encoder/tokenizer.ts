import { readFile } from 'node:fs/promises';
import { BaheError, ErrorCode } from '../errors.js';

/** Tokenizer settings, as the model manifest's `tokenizer` block states them. */
export interface TokenizerSettings {
  lowercase: boolean;
  stripAccents: boolean;
  /** Tokens per text including [CLS] and [SEP]; longer texts are cut. */
  maxTokens: number;
  clsId: number;
  sepId: number;
  padId: number;
  unkId: number;
}

/** Token ids of a batch, padded to its longest text, shaped [batchSize, seqLen] row-major. */
export interface TokenBatch {
  ids: BigInt64Array;
  mask: BigInt64Array;
  batchSize: number;
  seqLen: number;
}

/** A word longer than this many characters becomes one [UNK], as the source checkpoint's tokenizer does. */
const MAX_WORD_CHARS = 100;
const CONTINUATION_PREFIX = '##';

const CONTROL = /\p{C}/u;
const WHITESPACE = /\p{White_Space}/u;
const PUNCTUATION = /\p{P}/u;
const NONSPACING_MARK = /\p{Mn}/gu;

/**
 * BERT tokenization: basic splitting (control characters, CJK, case, accents, punctuation), then
 * greedy longest-match WordPiece over the checkpoint's vocabulary.
 */
export class WordPieceTokenizer {
  readonly settings: Readonly<TokenizerSettings>;
  private readonly vocab: ReadonlyMap<string, number>;

  constructor(vocab: readonly string[], settings: TokenizerSettings) {
    checkSettings(settings, vocab.length);
    this.settings = Object.freeze({ ...settings });
    const map = new Map<string, number>();
    vocab.forEach((token, id) => {
      if (!map.has(token)) map.set(token, id);
    });
    this.vocab = map;
  }

  /** Reads a vocabulary file (one token per line, the line number is the id). */
  static async fromVocabFile(file: string, settings: TokenizerSettings): Promise<WordPieceTokenizer> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      throw new BaheError(
        ErrorCode.MODEL_INVALID,
        `cannot read the vocabulary ${file}; re-run the model compiler or point to a compiled model`,
        { cause, context: { path: file } },
      );
    }
    const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
    if (lines.at(-1) === '') lines.pop();
    return new WordPieceTokenizer(lines, settings);
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  /** Token ids of one text: [CLS], at most `maxTokens - 2` word pieces, [SEP]. */
  encode(text: string): number[] {
    const { clsId, sepId, maxTokens } = this.settings;
    const room = maxTokens - 2;
    const ids: number[] = [clsId];
    for (const word of this.basicTokens(text)) {
      for (const id of this.wordPieces(word)) {
        if (ids.length > room) break;
        ids.push(id);
      }
      if (ids.length > room) break;
    }
    ids.push(sepId);
    return ids;
  }

  /** Encodes texts and pads them to the longest one, as int64 tensors' data for ONNX Runtime. */
  encodeBatch(texts: readonly string[]): TokenBatch {
    return padBatch(
      texts.map((text) => this.encode(text)),
      this.settings.padId,
    );
  }

  /** Words after normalisation and splitting on whitespace and punctuation. */
  basicTokens(text: string): string[] {
    let normalized = '';
    for (const char of text) {
      const code = char.codePointAt(0) ?? 0;
      // Tab and line breaks are whitespace; every other control or format character is dropped,
      // even one Unicode also calls whitespace (vertical tab, U+0085), as the checkpoint's tokenizer does.
      if (code === 0 || code === 0xfffd) continue;
      if (char === '\t' || char === '\n' || char === '\r') normalized += ' ';
      else if (CONTROL.test(char)) continue;
      else if (WHITESPACE.test(char)) normalized += ' ';
      else if (isCjk(code)) normalized += ` ${char} `;
      else normalized += char;
    }
    // The checkpoint's tokenizer strips accents before lowercasing; the order matters for a few letters.
    if (this.settings.stripAccents) normalized = normalized.normalize('NFD').replace(NONSPACING_MARK, '');
    // Character by character: String#toLowerCase turns a word-final capital sigma into the final form,
    // which the checkpoint's tokenizer does not.
    if (this.settings.lowercase) normalized = Array.from(normalized, (char) => char.toLowerCase()).join('');

    const words: string[] = [];
    for (const chunk of normalized.split(' ')) {
      let word = '';
      for (const char of chunk) {
        if (isPunctuation(char)) {
          if (word !== '') words.push(word);
          words.push(char);
          word = '';
        } else if (WHITESPACE.test(char)) {
          if (word !== '') words.push(word);
          word = '';
        } else {
          word += char;
        }
      }
      if (word !== '') words.push(word);
    }
    return words;
  }

  /** Greedy longest-match WordPiece; a word with any unmatched rest becomes a single [UNK]. */
  private wordPieces(word: string): number[] {
    const chars = Array.from(word);
    if (chars.length > MAX_WORD_CHARS) return [this.settings.unkId];

    const pieces: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (end > start) {
        const piece = chars.slice(start, end).join('');
        found = this.vocab.get(start === 0 ? piece : CONTINUATION_PREFIX + piece);
        if (found !== undefined) break;
        end -= 1;
      }
      if (found === undefined) return [this.settings.unkId];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }
}

/** Pads token id lists to the longest, with a mask of 1 for real tokens and 0 for padding. */
export function padBatch(rows: readonly (readonly number[])[], padId: number): TokenBatch {
  const batchSize = rows.length;
  const seqLen = rows.reduce((longest, row) => Math.max(longest, row.length), 0);
  const ids = new BigInt64Array(batchSize * seqLen).fill(BigInt(padId));
  const mask = new BigInt64Array(batchSize * seqLen);
  rows.forEach((row, r) => {
    const base = r * seqLen;
    row.forEach((id, t) => {
      ids[base + t] = BigInt(id);
      mask[base + t] = 1n;
    });
  });
  return { ids, mask, batchSize, seqLen };
}

function isPunctuation(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  const asciiPunctuation =
    (code >= 33 && code <= 47) ||
    (code >= 58 && code <= 64) ||
    (code >= 91 && code <= 96) ||
    (code >= 123 && code <= 126);
  return asciiPunctuation || PUNCTUATION.test(char);
}

/** The CJK Unified Ideograph blocks BERT splits into single-character words (not Hangul or kana). */
function isCjk(code: number): boolean {
  return (
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x20000 && code <= 0x2a6df) ||
    (code >= 0x2a700 && code <= 0x2b73f) ||
    (code >= 0x2b740 && code <= 0x2b81f) ||
    (code >= 0x2b820 && code <= 0x2ceaf) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0x2f800 && code <= 0x2fa1f)
  );
}

function checkSettings(settings: TokenizerSettings, vocabSize: number): void {
  const fail = (field: string, accepted: string): never => {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `tokenizer.${field} must be ${accepted}; re-run the model compiler`,
      { context: { field: `tokenizer.${field}` } },
    );
  };
  if (!Number.isInteger(settings.maxTokens) || settings.maxTokens < 3 || settings.maxTokens > 4096) {
    fail('maxTokens', 'an integer in [3, 4096]');
  }
  for (const field of ['clsId', 'sepId', 'padId', 'unkId'] as const) {
    const id = settings[field];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
      fail(field, `a token id in [0, ${vocabSize - 1}]`);
  }
}
