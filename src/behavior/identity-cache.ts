import { type BehaviorIdentity, identifyBehavior } from './id.js';
import type { BehaviorTextOptions } from './normalize.js';

/**
 * Remembers recent identities so that a behavior repeated across many histories is normalised and
 * hashed once. Bounded: when full it starts afresh, which costs only recomputation.
 */
export class BehaviorIdentityCache {
  readonly #entries = new Map<string, BehaviorIdentity>();
  readonly #maxEntries: number;
  readonly #textOptions: BehaviorTextOptions;

  constructor(maxEntries = 200_000, textOptions: BehaviorTextOptions = {}) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be an integer >= 1, got ${maxEntries}`);
    }
    this.#maxEntries = maxEntries;
    this.#textOptions = textOptions;
  }

  /** Same as `identifyBehavior`, including its errors for an invalid type or text. */
  identify(type: string, text: string): BehaviorIdentity {
    const key = `${type}\u0000${text}`;
    let identity = this.#entries.get(key);
    if (identity === undefined) {
      identity = identifyBehavior(type, text, this.#textOptions);
      if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
      this.#entries.set(key, identity);
    }
    return identity;
  }
}
