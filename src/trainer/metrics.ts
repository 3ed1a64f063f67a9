/**
 * Progressive (test-then-train) evaluation: every impression is scored before the model learns from
 * it, and the running AUC and log-loss are computed over all scores so far.
 */

export interface RunningMetricsState {
  scores: number[];
  labels: number[];
  logLossSum: number;
}

export class RunningMetrics {
  #scores: number[] = [];
  #labels: number[] = [];
  #logLossSum = 0;

  /** Adds one scored impression: `logit` is the model's pre-update score, `label` 0 or 1. */
  add(logit: number, label: 0 | 1): void {
    this.#scores.push(logit);
    this.#labels.push(label);
    this.#logLossSum += bceWithLogit(logit, label);
  }

  get count(): number {
    return this.#scores.length;
  }

  /** Mean binary cross-entropy in nats; NaN before the first impression. */
  get logLoss(): number {
    return this.count === 0 ? Number.NaN : this.#logLossSum / this.count;
  }

  /** Area under the ROC curve over all impressions so far; NaN while one class is missing. */
  auc(): number {
    return areaUnderRoc(this.#scores, this.#labels);
  }

  /** AUC over the impressions from `start` (inclusive) to `end` (exclusive), e.g. for a curve. */
  aucOfRange(start: number, end: number): number {
    return areaUnderRoc(this.#scores.slice(start, end), this.#labels.slice(start, end));
  }

  toJSON(): RunningMetricsState {
    return { scores: [...this.#scores], labels: [...this.#labels], logLossSum: this.#logLossSum };
  }

  static fromJSON(state: RunningMetricsState): RunningMetrics {
    if (state.scores.length !== state.labels.length) {
      throw new RangeError('metrics state has a different number of scores and labels');
    }
    const metrics = new RunningMetrics();
    metrics.#scores = [...state.scores];
    metrics.#labels = [...state.labels];
    metrics.#logLossSum = state.logLossSum;
    return metrics;
  }
}

/** Binary cross-entropy of a logit against a 0/1 label, computed without overflow. */
export function bceWithLogit(logit: number, label: number): number {
  return Math.max(logit, 0) - logit * label + Math.log1p(Math.exp(-Math.abs(logit)));
}

/**
 * Exact ROC AUC by the rank-sum (Mann-Whitney) statistic, with tied scores given their mean rank.
 * O(n log n).
 */
export function areaUnderRoc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let positives = 0;
  let positiveRankSum = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    const score = scores[order[i] as number] as number;
    while (j + 1 < n && scores[order[j + 1] as number] === score) j += 1;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k += 1) {
      if (labels[order[k] as number] === 1) {
        positives += 1;
        positiveRankSum += meanRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
