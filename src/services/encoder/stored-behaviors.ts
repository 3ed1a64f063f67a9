/**
 * What stage 1 knows of the store: the behavior ids it found stored, so that mentions which would
 * change nothing downstream stay off the internal topic. A stored behavior needs no encoding and no
 * admission count; only its sightings (mentions by behavior events) still go to its owner, who
 * records them. Impression histories mostly repeat stored behaviors, so most of their mentions end
 * here.
 *
 * Knowing a behavior stored is kept for `maxAgeMs` at most: a behavior pruned since is then sent
 * again and re-encoded by its owner. The set starts afresh when it reaches `maxEntries`, which costs
 * only lookups.
 */
import type { BehaviorStore } from '../../store/types.js';
import type { BehaviorRefMessage } from './behavior-ref-message.js';

export const STORED_BEHAVIORS_DEFAULTS = Object.freeze({ maxEntries: 1_000_000, maxAgeMs: 10 * 60_000 });

export class StoredBehaviors {
  readonly #store: Pick<BehaviorStore, 'missing'>;
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #known = new Set<string>();
  #since: number;

  constructor(
    store: Pick<BehaviorStore, 'missing'>,
    options: { maxEntries?: number; maxAgeMs?: number; now?: () => number } = {},
  ) {
    this.#store = store;
    this.#maxEntries = options.maxEntries ?? STORED_BEHAVIORS_DEFAULTS.maxEntries;
    this.#maxAgeMs = options.maxAgeMs ?? STORED_BEHAVIORS_DEFAULTS.maxAgeMs;
    this.#now = options.now ?? Date.now;
    this.#since = this.#now();
  }

  /**
   * The references stage 2 still needs: behaviors not known stored (one store lookup for those this
   * set does not know yet), and sightings of stored ones.
   */
  async needed(refs: readonly BehaviorRefMessage[]): Promise<BehaviorRefMessage[]> {
    if (this.#now() - this.#since > this.#maxAgeMs || this.#known.size >= this.#maxEntries) {
      this.#known = new Set();
      this.#since = this.#now();
    }
    const unknown = refs.filter((ref) => !this.#known.has(ref.id)).map((ref) => ref.id);
    if (unknown.length > 0) {
      const missing = new Set(await this.#store.missing(unknown));
      for (const id of unknown) if (!missing.has(id)) this.#known.add(id);
    }
    return refs.filter((ref) => ref.sightings > 0 || !this.#known.has(ref.id));
  }
}
