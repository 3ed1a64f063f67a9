import { type BehaviorIdentity, identifyBehavior } from './id.js';
import type { BehaviorTextOptions } from './normalize.js';

/**
 * Remembers recent identities so that a behavior repeated across many histories is normalised and
 * hashed once. Bounded: when full it starts afresh, which costs only recomputation.
 */
export class BehaviorIdentityCache {
  // By type, then by raw text: a lookup builds no key string.
  readonly #byType = new Map<string, Map<string, BehaviorIdentity>>();
  #size = 0;
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
    const cached = this.#byType.get(type)?.get(text);
    if (cached !== undefined) return cached;
    const identity = identifyBehavior(type, text, this.#textOptions);
    if (this.#size >= this.#maxEntries) {
      this.#byType.clear();
      this.#size = 0;
    }
    let byText = this.#byType.get(type);
    if (byText === undefined) {
      byText = new Map();
      this.#byType.set(type, byText);
    }
    byText.set(text, identity);
    this.#size += 1;
    return identity;
  }
}
