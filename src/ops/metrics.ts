/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format (version 0.0.4). Collect hooks run before each rendering, so values that live
 * in a service's stats are read at scrape time instead of being pushed on every event.
 */

export type Labels = Readonly<Record<string, string>>;

/** The content type of `MetricsRegistry.render()`'s text. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Bucket bounds in seconds for latencies from a millisecond to a minute. */
export const LATENCY_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type Kind = 'counter' | 'gauge' | 'histogram';

/** What the registry needs of any metric. */
interface Rendered {
  readonly name: string;
  render(): string;
}

abstract class Metric<Series> implements Rendered {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly series = new Map<string, { labels: Labels; value: Series }>();
  abstract readonly kind: Kind;

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!NAME_PATTERN.test(name)) throw new RangeError(`metric name ${JSON.stringify(name)} is not valid`);
    for (const label of labelNames) {
      if (!LABEL_PATTERN.test(label) || label.startsWith('__') || label === 'le') {
        throw new RangeError(`label name ${JSON.stringify(label)} of ${name} is not valid`);
      }
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  /** Forgets every series, e.g. before a collect hook sets the ones that exist now. */
  reset(): void {
    this.series.clear();
  }

  protected entry(labels: Labels, initial: () => Series): { labels: Labels; value: Series } {
    const names = Object.keys(labels);
    if (names.length !== this.labelNames.length || !this.labelNames.every((n) => n in labels)) {
      throw new RangeError(
        `${this.name} takes labels [${this.labelNames.join(', ')}], got [${names.join(', ')}]`,
      );
    }
    const key = this.labelNames.map((n) => labels[n]).join('\u0000');
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, value: initial() };
      this.series.set(key, entry);
    }
    return entry;
  }

  abstract lines(): string[];

  render(): string {
    const head = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`];
    return [...head, ...this.lines()].join('\n');
  }
}

/** A value that only goes up (or is mirrored from a count that only goes up). */
export class Counter extends Metric<{ value: number }> {
  readonly kind = 'counter';

  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name} can only increase; got ${by}`);
    this.entry(labels, () => ({ value: 0 })).value.value += by;
  }

  /** Mirrors a total kept elsewhere (a service's stats). */
  set(labels: Labels, total: number): void {
    this.entry(labels, () => ({ value: 0 })).value.value = total;
  }

  lines(): string[] {
    return [...this.series.values()].map((s) => sample(this.name, s.labels, s.value.value));
  }
}

export class Gauge extends Metric<{ value: number }> {
  readonly kind = 'gauge';

  set(labels: Labels, value: number): void {
    this.entry(labels, () => ({ value: 0 })).value.value = value;
  }

  lines(): string[] {
    return [...this.series.values()].map((s) => sample(this.name, s.labels, s.value.value));
  }
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramSeries> {
  readonly kind = 'histogram';
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || b === sorted[i - 1])) {
      throw new RangeError(`${name} needs distinct finite bucket bounds`);
    }
    this.buckets = sorted;
  }

  observe(labels: Labels, value: number): void {
    const series = this.entry(labels, () => ({
      counts: this.buckets.map(() => 0),
      sum: 0,
      count: 0,
    })).value;
    this.buckets.forEach((bound, i) => {
      if (value <= bound) series.counts[i] = (series.counts[i] as number) + 1;
    });
    series.sum += value;
    series.count += 1;
  }

  /** Observes the seconds `work` takes, whether it succeeds or fails. */
  async time<T>(labels: Labels, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.observe(labels, (performance.now() - started) / 1000);
    }
  }

  lines(): string[] {
    const out: string[] = [];
    for (const { labels, value } of this.series.values()) {
      this.buckets.forEach((bound, i) => {
        out.push(sample(`${this.name}_bucket`, { ...labels, le: formatValue(bound) }, value.counts[i] ?? 0));
      });
      out.push(sample(`${this.name}_bucket`, { ...labels, le: '+Inf' }, value.count));
      out.push(sample(`${this.name}_sum`, labels, value.sum));
      out.push(sample(`${this.name}_count`, labels, value.count));
    }
    return out;
  }
}

/** Runs before each rendering; may set gauges and mirrored counters. */
export type CollectHook = () => void | Promise<void>;

export class MetricsRegistry {
  readonly #metrics = new Map<string, Rendered>();
  readonly #hooks: CollectHook[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames));
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS_S,
  ): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }

  onCollect(hook: CollectHook): void {
    this.#hooks.push(hook);
  }

  /** Every metric in the text exposition format; a failing hook leaves its metrics as they were. */
  async render(onHookError: (error: unknown) => void = () => undefined): Promise<string> {
    for (const hook of this.#hooks) {
      try {
        await hook();
      } catch (error) {
        onHookError(error);
      }
    }
    const blocks = [...this.#metrics.values()].map((metric) => metric.render());
    return `${blocks.join('\n')}\n`;
  }

  #add<M extends Rendered>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new RangeError(`metric ${metric.name} is registered twice`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** Label values escape backslash, double quote and line feed (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
