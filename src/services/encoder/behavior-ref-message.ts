/**
 * The internal topic's message: one behavior reference, keyed by its behavior id so that every
 * mention of a behavior lands in one partition and so with one encoder instance.
 *
 * Format (compact JSON, UTF-8), version 1:
 *   { "v": 1, "id": <behavior id>, "type": <behavior type>, "text": <normalised text>,
 *     "seenMs": <earliest mention, epoch ms>, "lastSeenMs": <latest mention, >= seenMs>,
 *     "count": <mentions folded in, >= 1>,
 *     "sightings": <mentions that were behavior events, 0..count> }
 * JSON rather than Avro because only bahe-stream writes and reads this topic, and a reader can check
 * every field (the id is recomputed from type and text) without a schema registry entry.
 */
import type { BehaviorIdentityCache } from '../../behavior/identity-cache.js';
import { BaheError, ErrorCode, isBaheError } from '../../errors.js';

export const BEHAVIOR_REF_VERSION = 1;

/** Mentions of one behavior folded together by the router. */
export interface BehaviorRefMessage {
  id: string;
  type: string;
  /** Normalised text, as the encoder sees it. */
  text: string;
  /** The earliest mention's time, epoch ms. */
  seenMs: number;
  /** The latest mention's time, epoch ms. */
  lastSeenMs: number;
  /** Mentions folded into this message; the admission threshold counts these. */
  count: number;
  /** Mentions that were behavior events (not impression histories or candidates); they update sightings in the store. */
  sightings: number;
}

/** The message value: compact JSON of version 1. */
export function encodeBehaviorRef(ref: BehaviorRefMessage): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: BEHAVIOR_REF_VERSION,
      id: ref.id,
      type: ref.type,
      text: ref.text,
      seenMs: ref.seenMs,
      lastSeenMs: ref.lastSeenMs,
      count: ref.count,
      sightings: ref.sightings,
    }),
    'utf8',
  );
}

/**
 * Reads and checks a message value: every field typed and in range, and the id the one `identities`
 * derives from type and text. Anything else is BAHE_EVENT_INVALID (for the dead-letter topic).
 */
export function decodeBehaviorRef(
  value: Buffer | null,
  identities: BehaviorIdentityCache,
): BehaviorRefMessage {
  if (value === null || value.length === 0) throw invalid('the message has no value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (cause) {
    throw invalid(
      `the message is not JSON (${cause instanceof Error ? cause.message : String(cause)})`,
      cause,
    );
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid('the message is not a JSON object');
  const m = parsed as Record<string, unknown>;

  if (m.v !== BEHAVIOR_REF_VERSION) {
    throw invalid(`version ${JSON.stringify(m.v)} is not ${BEHAVIOR_REF_VERSION}; upgrade this reader`);
  }
  for (const field of ['id', 'type', 'text'] as const) {
    if (typeof m[field] !== 'string') throw invalid(`${field} must be a string`);
  }
  const count = m.count;
  const sightings = m.sightings;
  const seenMs = m.seenMs;
  const lastSeenMs = m.lastSeenMs;
  if (!isSafeNonNegative(seenMs)) throw invalid('seenMs must be an integer >= 0');
  if (!isSafeNonNegative(lastSeenMs) || lastSeenMs < seenMs)
    throw invalid('lastSeenMs must be an integer >= seenMs');
  if (!isSafeNonNegative(count) || count < 1) throw invalid('count must be an integer >= 1');
  if (!isSafeNonNegative(sightings) || sightings > count) {
    throw invalid('sightings must be an integer from 0 to count');
  }

  let identity: ReturnType<BehaviorIdentityCache['identify']>;
  try {
    identity = identities.identify(m.type as string, m.text as string);
  } catch (cause) {
    if (!isBaheError(cause)) throw cause;
    throw invalid(`the behavior is invalid: ${cause.message}`, cause);
  }
  if (identity.id !== m.id || identity.text !== m.text) {
    throw invalid(`id ${String(m.id)} is not the behavior id of its type and normalised text`);
  }
  return { id: identity.id, type: identity.type, text: identity.text, seenMs, lastSeenMs, count, sightings };
}

function isSafeNonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function invalid(reason: string, cause?: unknown): BaheError {
  return new BaheError(ErrorCode.EVENT_INVALID, `behavior reference is invalid: ${reason}`, {
    cause,
    context: { kind: 'BehaviorRef' },
  });
}
