/** Keeps a producer at or under a rate: waits until `n` more events fit the budget since the start. */
import { setTimeout as sleep } from 'node:timers/promises';

export class Pacer {
  readonly #ratePerS: number;
  readonly #startedAt = performance.now();
  #admitted = 0;

  /** `ratePerS` 0 means no limit. */
  constructor(ratePerS: number) {
    if (!Number.isFinite(ratePerS) || ratePerS < 0) {
      throw new RangeError(`ratePerS must be a finite number >= 0, got ${ratePerS}`);
    }
    this.#ratePerS = ratePerS;
  }

  /** Events per request that keep sends smooth: about 20 requests a second, at most `maxBatch`. */
  batchSize(maxBatch: number): number {
    if (this.#ratePerS === 0) return maxBatch;
    return Math.max(1, Math.min(maxBatch, Math.ceil(this.#ratePerS / 20)));
  }

  /** Resolves when `count` more events may go; the budget is measured from construction, so bursts even out. */
  async admit(count: number, signal?: AbortSignal): Promise<void> {
    this.#admitted += count;
    if (this.#ratePerS === 0) return;
    const dueAt = this.#startedAt + (1000 * this.#admitted) / this.#ratePerS;
    const waitMs = dueAt - performance.now();
    if (waitMs > 0) await sleep(waitMs, undefined, signal ? { signal } : undefined).catch(() => undefined);
  }
}
