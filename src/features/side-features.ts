/**
 * Side features a CTR model normally has, computed from the stream itself: smoothed per-user and
 * per-item positive rates and counts. Each impression's features use only labels seen before it.
 */

/**
 * Names in the order the compiled model expects them (see docs/model-format.md). The three log-odds
 * features sum to the non-text baseline's score, so a model whose wide part starts at weights 1 on
 * them starts as that baseline.
 */
export const SIDE_FEATURE_NAMES = [
  'user_lift',
  'item_lift',
  'global_rate',
  'user_count',
  'item_count',
  'item_coldness',
] as const;

export interface SideFeatureOptions {
  /** Prior strength: how many pseudo-observations at the global rate each smoothed rate starts with. */
  priorStrength: number;
}

const DEFAULTS: SideFeatureOptions = { priorStrength: 5 };

interface Tally {
  seen: number;
  positive: number;
}

export interface SideFeatureState {
  priorStrength: number;
  global: Tally;
  users: Record<string, [number, number]>;
  items: Record<string, [number, number]>;
}

/** Maximum magnitude of a rate's logit, so that a rate of exactly 0 or 1 stays finite. */
const LOGIT_LIMIT = 8;

function logit(p: number): number {
  const x = Math.log(p / (1 - p));
  return Math.max(-LOGIT_LIMIT, Math.min(LOGIT_LIMIT, x));
}

export class SideFeatures {
  readonly #priorStrength: number;
  #global: Tally = { seen: 0, positive: 0 };
  readonly #users = new Map<string, Tally>();
  readonly #items = new Map<string, Tally>();

  constructor(options: Partial<SideFeatureOptions> = {}) {
    const priorStrength = options.priorStrength ?? DEFAULTS.priorStrength;
    if (!(priorStrength > 0 && Number.isFinite(priorStrength))) {
      throw new RangeError(`priorStrength must be a finite number > 0, got ${priorStrength}`);
    }
    this.#priorStrength = priorStrength;
  }

  /** The global positive rate so far, with one pseudo-positive in two so it is defined at the start. */
  get globalRate(): number {
    return (this.#global.positive + 1) / (this.#global.seen + 2);
  }

  /** Writes the features of (user, item) into `out` at `offset`, in SIDE_FEATURE_NAMES order. */
  write(userId: string, itemId: string, out: Float32Array, offset = 0): void {
    const user = this.#users.get(userId);
    const item = this.#items.get(itemId);
    const global = logit(this.globalRate);
    out[offset] = logit(this.#smoothed(user)) - global;
    out[offset + 1] = logit(this.#smoothed(item)) - global;
    out[offset + 2] = global;
    out[offset + 3] = Math.log1p(user?.seen ?? 0) / 5;
    out[offset + 4] = Math.log1p(item?.seen ?? 0) / 5;
    // 1 for an item never seen, halving once it has as many impressions as the prior strength: how
    // much the item's text should stand in for its own rate (the model's item-text prior).
    out[offset + 5] = 1 / (1 + (item?.seen ?? 0) / this.#priorStrength);
  }

  /**
   * The non-text baseline's score: logit(user rate) + logit(item rate) - logit(global rate), a naive
   * Bayes combination of the two smoothed rates; also the sum of the three log-odds features.
   */
  baselineScore(userId: string, itemId: string): number {
    const user = this.#smoothed(this.#users.get(userId));
    const item = this.#smoothed(this.#items.get(itemId));
    return logit(user) + logit(item) - logit(this.globalRate);
  }

  /** Records an impression's label once it has been scored. */
  observe(userId: string, itemId: string, label: 0 | 1): void {
    bump(this.#global, label);
    bump(getOrCreate(this.#users, userId), label);
    bump(getOrCreate(this.#items, itemId), label);
  }

  toJSON(): SideFeatureState {
    return {
      priorStrength: this.#priorStrength,
      global: { ...this.#global },
      users: tallyRecord(this.#users),
      items: tallyRecord(this.#items),
    };
  }

  static fromJSON(state: SideFeatureState): SideFeatures {
    const features = new SideFeatures({ priorStrength: state.priorStrength });
    features.#global = { seen: state.global.seen, positive: state.global.positive };
    for (const [key, [seen, positive]] of Object.entries(state.users))
      features.#users.set(key, { seen, positive });
    for (const [key, [seen, positive]] of Object.entries(state.items))
      features.#items.set(key, { seen, positive });
    return features;
  }

  #smoothed(tally: Tally | undefined): number {
    const m = this.#priorStrength;
    return ((tally?.positive ?? 0) + m * this.globalRate) / ((tally?.seen ?? 0) + m);
  }
}

function bump(tally: Tally, label: 0 | 1): void {
  tally.seen += 1;
  tally.positive += label;
}

function getOrCreate(map: Map<string, Tally>, key: string): Tally {
  let tally = map.get(key);
  if (tally === undefined) {
    tally = { seen: 0, positive: 0 };
    map.set(key, tally);
  }
  return tally;
}

function tallyRecord(map: Map<string, Tally>): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const [key, tally] of map) out[key] = [tally.seen, tally.positive];
  return out;
}
