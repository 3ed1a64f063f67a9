/**
 * The admission threshold: a behavior is encoded only once it has been mentioned `threshold` times.
 *
 * Counts live in memory, per owned partition of the behavior-reference topic, and are not saved:
 * mentions before a restart, or before the partition moved to another instance, are forgotten
 * (their offsets are committed all the same), so a behavior part-way to the threshold needs the full
 * count of fresh mentions there. Memory grows with the distinct behaviors of the owned partitions.
 * With a threshold of 1 nothing is counted or kept.
 */
export class AdmissionCounter {
  readonly threshold: number;
  readonly #counts = new Map<number, Map<string, number>>();

  constructor(threshold: number) {
    this.threshold = threshold;
  }

  /** Adds `mentions` of behavior `id` seen on `partition`; true once the behavior has reached the threshold. */
  admit(partition: number, id: string, mentions: number): boolean {
    if (this.threshold <= 1) return true;
    let counts = this.#counts.get(partition);
    if (counts === undefined) {
      counts = new Map();
      this.#counts.set(partition, counts);
    }
    // A behavior that reached the threshold stays admitted (its count stops growing).
    const count = Math.min(this.threshold, (counts.get(id) ?? 0) + mentions);
    counts.set(id, count);
    return count >= this.threshold;
  }

  /** Forgets the counts of partitions this instance no longer owns. */
  retainOnly(partitions: Iterable<number>): void {
    const kept = new Set(partitions);
    for (const partition of [...this.#counts.keys()]) {
      if (!kept.has(partition)) this.#counts.delete(partition);
    }
  }

  /** Behaviors counted but not yet admitted, over all owned partitions. */
  get pending(): number {
    let pending = 0;
    for (const counts of this.#counts.values()) {
      for (const count of counts.values()) if (count < this.threshold) pending += 1;
    }
    return pending;
  }
}
