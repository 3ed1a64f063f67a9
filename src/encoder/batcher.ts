import { BaheError, ErrorCode } from '../errors.js';

/** Runs one micro-batch; must resolve to exactly one result per item, in the items' order. */
export type BatchRunner<I, R> = (items: I[]) => Promise<R[]>;

export interface MicroBatcherOptions<I> {
  /** Items per batch at most; a batch is sent as soon as this many wait. */
  maxBatchSize?: number;
  /** How long the oldest waiting item may wait before a smaller batch is sent. */
  maxWaitMs?: number;
  /** Batches running at once at most; further ones wait in the queue. */
  maxInFlight?: number;
  /** Identity of an item: a waiting item with the same key is not queued again but shares the result. */
  keyOf?: (item: I) => string;
}

const DEFAULTS = { maxBatchSize: 64, maxWaitMs: 5, maxInFlight: 1 };

interface Waiting<I, R> {
  item: I;
  key: string | undefined;
  enqueuedAt: number;
  settle: Array<{ resolve: (result: R) => void; reject: (err: unknown) => void }>;
}

/**
 * Groups items submitted one at a time into batches for a function that works best on many at once,
 * such as the encoder. Each caller gets its own item's result.
 */
export class MicroBatcher<I, R> {
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  readonly maxInFlight: number;
  private readonly run: BatchRunner<I, R>;
  private readonly keyOf: ((item: I) => string) | undefined;

  // The queue has no size bound: callers that can outpace the batch function (a stream consumer)
  // must await their submissions, or pause, to hold memory in check.
  private queue: Array<Waiting<I, R>> = [];
  private readonly byKey = new Map<string, Waiting<I, R>>();
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** Drains in progress; while any runs, waiting items are sent without waiting for `maxWaitMs`. */
  private draining = 0;
  private closed = false;

  constructor(run: BatchRunner<I, R>, options: MicroBatcherOptions<I> = {}) {
    this.run = run;
    this.maxBatchSize = checkInteger(
      'maxBatchSize',
      options.maxBatchSize ?? DEFAULTS.maxBatchSize,
      1,
      1_000_000,
    );
    this.maxWaitMs = checkInteger('maxWaitMs', options.maxWaitMs ?? DEFAULTS.maxWaitMs, 0, 600_000);
    this.maxInFlight = checkInteger('maxInFlight', options.maxInFlight ?? DEFAULTS.maxInFlight, 1, 1024);
    this.keyOf = options.keyOf;
  }

  /** Items waiting for a batch (not counting those in running batches). */
  get queued(): number {
    return this.queue.length;
  }

  /** Batches running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Queues an item; resolves with its result, or rejects with its batch's error. */
  submit(item: I): Promise<R> {
    if (this.closed) {
      return Promise.reject(new Error('the micro-batcher is closed; submit before calling close()'));
    }
    const key = this.keyOf?.(item);
    return new Promise<R>((resolve, reject) => {
      const same = key === undefined ? undefined : this.byKey.get(key);
      if (same !== undefined) {
        same.settle.push({ resolve, reject });
        return;
      }
      const waiting: Waiting<I, R> = { item, key, enqueuedAt: Date.now(), settle: [{ resolve, reject }] };
      this.queue.push(waiting);
      if (key !== undefined) this.byKey.set(key, waiting);
      this.dispatch();
    });
  }

  /** Sends every waiting item now, without waiting for `maxWaitMs`, and waits until all batches finish. */
  async drain(): Promise<void> {
    this.draining += 1;
    try {
      this.dispatch();
      while (this.running.size > 0 || this.queue.length > 0) {
        await Promise.race(this.running);
        this.dispatch();
      }
    } finally {
      this.draining -= 1;
    }
  }

  /** Refuses new items, then drains. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  /** Starts batches while there is room and a batch is due; otherwise arms the wait timer. */
  private dispatch(): void {
    while (this.running.size < this.maxInFlight && this.queue.length > 0 && this.isDue()) {
      this.startBatch(this.queue.splice(0, this.maxBatchSize));
    }
    this.armTimer();
  }

  private isDue(): boolean {
    const oldest = this.queue[0];
    if (oldest === undefined) return false;
    return (
      this.draining > 0 ||
      this.queue.length >= this.maxBatchSize ||
      Date.now() - oldest.enqueuedAt >= this.maxWaitMs
    );
  }

  private armTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const oldest = this.queue[0];
    // With every slot busy, a finishing batch calls dispatch again; a timer would only spin.
    if (oldest === undefined || this.running.size >= this.maxInFlight) return;
    const delayMs = Math.max(0, oldest.enqueuedAt + this.maxWaitMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dispatch();
    }, delayMs);
  }

  private startBatch(batch: Array<Waiting<I, R>>): void {
    for (const waiting of batch) {
      if (waiting.key !== undefined) this.byKey.delete(waiting.key);
    }
    const done = this.runBatch(batch).finally(() => {
      this.running.delete(done);
      this.dispatch();
    });
    this.running.add(done);
  }

  private async runBatch(batch: Array<Waiting<I, R>>): Promise<void> {
    let results: R[];
    try {
      results = await this.run(batch.map((waiting) => waiting.item));
      if (!Array.isArray(results) || results.length !== batch.length) {
        throw new Error(
          `the batch function returned ${Array.isArray(results) ? results.length : typeof results} results ` +
            `for ${batch.length} items; it must return one result per item`,
        );
      }
    } catch (err) {
      for (const waiting of batch) for (const { reject } of waiting.settle) reject(err);
      return;
    }
    batch.forEach((waiting, i) => {
      for (const { resolve } of waiting.settle) resolve(results[i] as R);
    });
  }
}

function checkInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `${field} must be an integer in [${min}, ${max}], got ${String(value)}`,
      { context: { field } },
    );
  }
  return value;
}
