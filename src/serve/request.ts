/**
 * The body of `POST /predict`, checked field by field: a malformed request fails with
 * BAHE_REQUEST_INVALID naming the field and what it accepts, before any model work is done.
 */
import { BaheError, ErrorCode } from '../errors.js';

/** A candidate item to score for the user. */
export interface PredictCandidate {
  /** The item's id, for its side features (click rate, coldness); an unknown or absent id is a new item. */
  itemId: string | undefined;
  /** The item's text (e.g. its title), encoded like a behavior. */
  text: string;
}

export interface PredictRequest {
  /** The user's id, for their side features; an unknown or absent id is a new user. */
  userId: string | undefined;
  /** Behavior texts per behavior type, oldest first. */
  history: ReadonlyArray<{ type: string; text: string; field: string }>;
  candidates: PredictCandidate[];
}

export interface RequestLimits {
  /** Behavior types the model was compiled for. */
  behaviorTypes: readonly string[];
  maxCandidates: number;
  /** Behaviors in the whole history, all types together. */
  maxHistoryLength: number;
  /** Characters of one id. */
  maxIdChars: number;
}

const TOP_LEVEL_FIELDS = ['userId', 'history', 'candidates'];
const CANDIDATE_FIELDS = ['itemId', 'text'];

export function invalidRequest(field: string, message: string, status = 400): BaheError {
  return new BaheError(ErrorCode.REQUEST_INVALID, message, { context: { field, status } });
}

/** Parses and checks a request body (already read within the size limit). */
export function parsePredictRequest(body: string, limits: RequestLimits): PredictRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw invalidRequest('body', `the body is not JSON (${(error as Error).message}); send a JSON object`);
  }
  if (!isObject(value))
    throw invalidRequest('body', 'the body must be a JSON object with history and candidates');
  refuseUnknown(value, TOP_LEVEL_FIELDS, '');

  const userId = optionalId(value.userId, 'userId', limits.maxIdChars);
  const history = parseHistory(value.history, limits);
  const candidates = parseCandidates(value.candidates, limits);
  return { userId, history, candidates };
}

function parseHistory(value: unknown, limits: RequestLimits): PredictRequest['history'] {
  if (value === undefined) return [];
  const accepted = limits.behaviorTypes.join(', ');
  if (!isObject(value)) {
    throw invalidRequest('history', `history must be an object of behavior texts per type (${accepted})`);
  }
  const history: Array<{ type: string; text: string; field: string }> = [];
  for (const [type, texts] of Object.entries(value)) {
    const field = `history.${type}`;
    if (!limits.behaviorTypes.includes(type)) {
      throw invalidRequest(field, `${field}: unknown behavior type "${type}"; accepted: ${accepted}`);
    }
    if (!Array.isArray(texts))
      throw invalidRequest(field, `${field} must be an array of behavior texts, oldest first`);
    texts.forEach((text, index) => {
      if (typeof text !== 'string')
        throw invalidRequest(`${field}[${index}]`, `${field}[${index}] must be a string`);
      history.push({ type, text, field: `${field}[${index}]` });
    });
  }
  if (history.length > limits.maxHistoryLength) {
    throw invalidRequest(
      'history',
      `history holds ${history.length} behaviors, more than the limit of ${limits.maxHistoryLength}; ` +
        'send the most recent ones (the model reads the latest per type only)',
    );
  }
  return history;
}

function parseCandidates(value: unknown, limits: RequestLimits): PredictCandidate[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidRequest('candidates', 'candidates must be a non-empty array of {"itemId", "text"} objects');
  }
  if (value.length > limits.maxCandidates) {
    throw invalidRequest(
      'candidates',
      `candidates holds ${value.length} items, more than the limit of ${limits.maxCandidates}; split the request`,
    );
  }
  return value.map((candidate: unknown, index) => {
    const field = `candidates[${index}]`;
    if (!isObject(candidate)) throw invalidRequest(field, `${field} must be an object {"itemId", "text"}`);
    refuseUnknown(candidate, CANDIDATE_FIELDS, `${field}.`);
    if (typeof candidate.text !== 'string' || candidate.text.trim() === '') {
      throw invalidRequest(`${field}.text`, `${field}.text must be the item's text, a non-empty string`);
    }
    return {
      itemId: optionalId(candidate.itemId, `${field}.itemId`, limits.maxIdChars),
      text: candidate.text,
    };
  });
}

function optionalId(value: unknown, field: string, maxChars: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > maxChars) {
    throw invalidRequest(field, `${field} must be a string of 1 to ${maxChars} characters`);
  }
  return value;
}

function refuseUnknown(value: Record<string, unknown>, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw invalidRequest(`${prefix}${key}`, `unknown field ${prefix}${key}; accepted: ${known.join(', ')}`);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
