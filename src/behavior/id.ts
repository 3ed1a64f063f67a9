import { createHash } from 'node:crypto';
import { type BehaviorTextOptions, normalizeBehaviorText, validateBehaviorType } from './normalize.js';

/**
 * The project's UUID namespace for behavior ids. Generated once at random and fixed forever: changing
 * it changes every behavior id and orphans every stored vector.
 */
export const BEHAVIOR_ID_NAMESPACE = '3f9b4acd-fca7-4f5a-b499-254da5b08927';

/** An atomic behavior in its canonical form, with its id. */
export interface BehaviorIdentity {
  type: string;
  /** The normalised text, the one the encoder should see. */
  text: string;
  id: string;
}

/**
 * The behavior id: a version 5 (SHA-1, name-based) UUID of `type + "\u0000" + normalizedText` in the
 * project namespace. Deterministic everywhere, and a valid Qdrant point id.
 */
export function behaviorId(type: string, text: string, options: BehaviorTextOptions = {}): string {
  return identifyBehavior(type, text, options).id;
}

/** Validates the type, normalises the text and derives the behavior id in one step. */
export function identifyBehavior(
  type: string,
  text: string,
  options: BehaviorTextOptions = {},
): BehaviorIdentity {
  validateBehaviorType(type);
  const normalized = normalizeBehaviorText(text, options);
  return { type, text: normalized, id: uuidV5(BEHAVIOR_ID_NAMESPACE, `${type}\u0000${normalized}`) };
}

/** An RFC 9562 version 5 UUID of `name` (UTF-8) in `namespace`, lowercase hex with hyphens. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidBytes(uuid: string): Buffer {
  if (!UUID_PATTERN.test(uuid)) throw new TypeError(`not a UUID: ${uuid}`);
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}
