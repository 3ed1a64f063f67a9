/**
 * Progress of long work: rate and ETA, reported at most every `intervalMs` as a log line.
 */
import type { Logger } from '../log.js';

export interface ProgressOptions {
  /** What is being counted, e.g. `impressions`. */
  unit: string;
  /** Expected total, when known, for the ETA. */
  total?: number;
  intervalMs: number;
}

export interface ProgressSnapshot {
  done: number;
  total: number | undefined;
  elapsedS: number;
  ratePerS: number;
  etaS: number | undefined;
}

export class Progress {
  readonly #logger: Logger;
  readonly #options: ProgressOptions;
  readonly #startedAt = performance.now();
  #lastReportAt = performance.now();
  #done = 0;

  constructor(logger: Logger, options: ProgressOptions) {
    this.#logger = logger;
    this.#options = options;
  }

  /** Adds `count` finished units; logs when the interval has passed. `extra` fields join the line. */
  advance(count: number, extra: Record<string, unknown> = {}): void {
    this.#done += count;
    const now = performance.now();
    if (now - this.#lastReportAt >= this.#options.intervalMs) {
      this.#lastReportAt = now;
      this.#logger.info({ ...this.#format(this.snapshot()), ...extra }, 'progress');
    }
  }

  snapshot(): ProgressSnapshot {
    const elapsedS = (performance.now() - this.#startedAt) / 1000;
    const ratePerS = elapsedS > 0 ? this.#done / elapsedS : 0;
    const { total } = this.#options;
    const etaS = total !== undefined && ratePerS > 0 ? Math.max(0, total - this.#done) / ratePerS : undefined;
    return { done: this.#done, total, elapsedS, ratePerS, etaS };
  }

  #format(snapshot: ProgressSnapshot): Record<string, unknown> {
    const { unit } = this.#options;
    const percent = snapshot.total ? Math.min(100, (100 * snapshot.done) / snapshot.total) : undefined;
    return {
      [unit]: snapshot.done,
      total: snapshot.total,
      percent: percent === undefined ? undefined : Number(percent.toFixed(1)),
      perSecond: Number(snapshot.ratePerS.toFixed(1)),
      etaS: snapshot.etaS === undefined ? undefined : Math.round(snapshot.etaS),
    };
  }
}
