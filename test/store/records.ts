import type { BehaviorRecord } from '../../src/store/types.js';
import { seededRandom } from '../helpers/random.js';

/** A valid behavior id made from a number, so tests can name records by index. */
export function behaviorId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export function randomVector(dimension: number, random: () => number): Float32Array {
  const vector = new Float32Array(dimension);
  for (let i = 0; i < dimension; i += 1) vector[i] = random() * 2 - 1;
  return vector;
}

/** `count` records with ids `behaviorId(first + i)`, alternating between two behavior types. */
export function makeRecords(
  count: number,
  dimension: number,
  options: { first?: number; seed?: number; seenMs?: number } = {},
): BehaviorRecord[] {
  const { first = 0, seed = 1, seenMs = 1_700_000_000_000 } = options;
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => ({
    id: behaviorId(first + i),
    type: (first + i) % 2 === 0 ? 'liked' : 'disliked',
    text: `behavior text ${first + i}`,
    vector: randomVector(dimension, random),
    firstSeenMs: seenMs + i,
    lastSeenMs: seenMs + i,
    count: 1,
  }));
}

/** Exact cosine by brute force in double precision, for checking a store's `nearest`. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i] as number;
    const y = b[i] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}
