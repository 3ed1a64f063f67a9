/** A set of Kafka offsets of one partition, kept as sorted, merged inclusive ranges `[first, last]`. */

export type OffsetRange = [first: number, last: number];

export class OffsetRanges {
  readonly #ranges: OffsetRange[];

  /** `ranges` must be sorted and disjoint, as `toJSON` writes them; anything else is a RangeError. */
  constructor(ranges: readonly OffsetRange[] = []) {
    this.#ranges = [];
    for (const range of ranges) {
      const [first, last] = range;
      const tail = this.#ranges[this.#ranges.length - 1];
      const valid = Number.isSafeInteger(first) && Number.isSafeInteger(last) && first >= 0 && first <= last;
      if (!valid || (tail !== undefined && first <= tail[1])) {
        throw new RangeError(
          `offset range ${JSON.stringify(range)} is not sorted, disjoint and non-negative`,
        );
      }
      if (tail !== undefined && first === tail[1] + 1) tail[1] = last;
      else this.#ranges.push([first, last]);
    }
  }

  /** Number of offsets in the set. */
  get size(): number {
    return this.#ranges.reduce((sum, [first, last]) => sum + last - first + 1, 0);
  }

  has(offset: number): boolean {
    return this.#ranges.some(([first, last]) => offset >= first && offset <= last);
  }

  /** Adds `offset`; returns false when it was already in the set. */
  add(offset: number): boolean {
    const ranges = this.#ranges;
    const tail = ranges[ranges.length - 1];
    // Offsets of a partition arrive in order, so the common case extends the last range.
    if (tail === undefined || offset > tail[1] + 1) {
      ranges.push([offset, offset]);
      return true;
    }
    if (offset === tail[1] + 1) {
      tail[1] = offset;
      return true;
    }
    if (this.has(offset)) return false;

    const at = ranges.findIndex(([first]) => first > offset);
    ranges.splice(at, 0, [offset, offset]);
    this.#mergeAround(at);
    return true;
  }

  toJSON(): OffsetRange[] {
    return this.#ranges.map(([first, last]) => [first, last]);
  }

  #mergeAround(index: number): void {
    const ranges = this.#ranges;
    const next = ranges[index + 1];
    const current = ranges[index] as OffsetRange;
    if (next !== undefined && next[0] === current[1] + 1) {
      current[1] = next[1];
      ranges.splice(index + 1, 1);
    }
    const previous = ranges[index - 1];
    if (previous !== undefined && previous[1] + 1 === current[0]) {
      previous[1] = current[1];
      ranges.splice(index, 1);
    }
  }
}
