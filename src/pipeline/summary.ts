/** The end-of-run report of `bahe run`, as a table for people or JSON for programs. */
import type { RunSummary } from './replay-run.js';

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const count = (value: number) => value.toLocaleString('en-US');

export function formatSummary(summary: RunSummary): string {
  const rows: Array<[string, string]> = [
    ['events read', count(summary.eventsRead)],
    ['  behavior events', count(summary.behaviorEvents)],
    ['  impressions', count(summary.impressions)],
    ['  rejected events', count(summary.rejectedEvents)],
    ['behavior occurrences', count(summary.behaviorOccurrences)],
    ['unique behaviors', count(summary.uniqueBehaviors)],
    ['  already stored', count(summary.alreadyStored)],
    [
      'encoder calls (texts encoded)',
      `${count(summary.encoderCalls)} in ${count(summary.encoderBatches)} batches`,
    ],
    ['dedupe ratio (occurrences / unique)', `${fixed(summary.dedupeRatio, 1)}x`],
    ['behaviors in the store', count(summary.storedBehaviors)],
    ['training steps (this run / total)', `${count(summary.trainingSteps)} / ${count(summary.totalSteps)}`],
    ['samples/s (training step)', fixed(summary.trainSamplesPerS, 1)],
    ['samples/s (end to end)', fixed(summary.endToEndSamplesPerS, 1)],
    ['running AUC, BAHE', fixed(summary.runningAuc, 4)],
    ['running log-loss, BAHE', fixed(summary.runningLogLoss, 4)],
    ['running AUC, non-text baseline', fixed(summary.baselineAuc, 4)],
    ['running log-loss, non-text baseline', fixed(summary.baselineLogLoss, 4)],
    ['this run AUC (BAHE / baseline)', `${fixed(summary.runAuc, 4)} / ${fixed(summary.runBaselineAuc, 4)}`],
    ['impressions trained in total', count(summary.totalSamples)],
    ['stream position', `${count(summary.streamPosition)} of ${count(summary.streamTotal)} events`],
    ['checkpoint', summary.checkpointPath ?? 'none written'],
    ['elapsed', `${fixed(summary.elapsedS, 1)} s`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  if (summary.resumedFromStep > 0) lines.unshift(`resumed from step ${count(summary.resumedFromStep)}`);
  if (summary.streamFinished)
    lines.push('the stream is fully consumed; a further run has nothing new to train on');
  return lines.join('\n');
}
