/**
 * `npm run bench`: measures BAHE's claims side by side on this machine (training cost against the
 * token-level baseline, quality on MovieLens-100K, encoder throughput, streaming through a real
 * broker) and writes bench-out/report.md, report.json and SVG plots. Not part of the tests.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatHelp, type OptionSpecs, parseOptions } from '../src/config/options.js';
import { BaheError, ErrorCode } from '../src/errors.js';
import { PACKAGE_ROOT, SHARED_DATA_DIR } from '../src/paths.js';
import { benchGraphsMissing, log, machineInfo } from './common.js';
import { runEncoder } from './encoder.js';
import { runQuality } from './quality.js';
import { type Report, writeReport } from './report.js';
import { runStreaming } from './streaming.js';
import { runTrainingCost } from './training-cost.js';

const SECTIONS = ['cost', 'quality', 'encoder', 'streaming'] as const;

const specs = {
  only: {
    kind: 'string',
    default: SECTIONS.join(','),
    description: `Comma-separated sections to run, of ${SECTIONS.join(', ')}.`,
  },
  out: { kind: 'string', default: 'bench-out', description: 'Report folder, relative to the package root.' },
  full: {
    kind: 'boolean',
    default: false,
    description:
      'Quality on all of ua.base (about 20 minutes per BAHE model on 2 cores) instead of --quality-impressions.',
  },
  qualityImpressions: {
    kind: 'integer',
    default: 20_000,
    min: 128,
    description: 'ua.base impressions (in time order) BAHE, its ablation and the non-text baseline train on.',
  },
  tokenImpressions: {
    kind: 'integer',
    default: 1_024,
    min: 0,
    description: 'ua.base impressions for the token-level baseline and BAHE beside it; 0 skips it.',
  },
  tokenTestImpressions: {
    kind: 'integer',
    default: 256,
    min: 1,
    description: 'ua.test ratings (evenly spread) scored by the token-level baseline and BAHE beside it.',
  },
  costSteps: {
    kind: 'integer',
    default: 6,
    min: 1,
    description: 'Timed training steps per BAHE configuration.',
  },
  tokenCostSteps: {
    kind: 'integer',
    default: 2,
    min: 1,
    description: 'Timed steps per token-level configuration.',
  },
  encoderRounds: {
    kind: 'integer',
    default: 3,
    min: 1,
    description: 'Rounds per encoder measurement (best kept).',
  },
  streamEvents: {
    kind: 'integer',
    default: 100_000,
    min: 100,
    description: 'Behavior events in the dedupe and bare-consume runs.',
  },
  impressionEvents: {
    kind: 'integer',
    default: 20_000,
    min: 100,
    description: 'Impression events (20 history entries each) in the impression dedupe run.',
  },
  newEvents: {
    kind: 'integer',
    default: 3_000,
    min: 100,
    description: 'New behaviors in the new-behavior run.',
  },
  freshnessSeconds: { kind: 'integer', default: 20, min: 1, description: 'Duration of the freshness run.' },
} as const satisfies OptionSpecs;

const summary =
  'Benchmarks BAHE against the token-level and non-text baselines and writes a report (Markdown, JSON, SVG).';

async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(specs, argv);
  if (help) {
    process.stdout.write(`${formatHelp('npm run bench -- [options]', summary, specs)}\n`);
    return 0;
  }
  const only = new Set(options.only.split(',').map((s) => s.trim()));
  const unknown = [...only].filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `--only names unknown sections ${unknown.join(', ')}; use ${SECTIONS.join(', ')}`,
      {
        context: { field: 'only' },
      },
    );
  }
  const movielens = path.join(SHARED_DATA_DIR, 'movielens-100k');
  if (!existsSync(path.join(movielens, 'ua.test'))) {
    throw new BaheError(
      ErrorCode.DATASET_INVALID,
      `the benchmark reads MovieLens-100K (u.item, ua.base, ua.test) from ${movielens}; put the extracted ml-100k folder there`,
      {
        context: { path: movielens },
      },
    );
  }

  const started = performance.now();
  const loadStart = Number((os.loadavg()[0] ?? 0).toFixed(2));
  const graphsMissing = benchGraphsMissing();
  const quality = {
    impressions: options.full ? 0 : options.qualityImpressions,
    tokenImpressions: options.tokenImpressions,
    tokenTestImpressions: options.tokenTestImpressions,
  };
  const report: Report = {
    measuredAt: new Date().toISOString(),
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    machine: machineInfo(),
    load: { start: loadStart, end: loadStart },
    elapsedS: 0,
    failures: [],
    notes: [
      `Sections run: ${[...only].join(', ')}.`,
      options.full
        ? 'Quality: all of ua.base.'
        : `Quality: the first ${quality.impressions} ua.base impressions in time order (npm run bench -- --full for all).`,
    ],
    gpu:
      'Not measured: no GPU was lent to the run that wrote this report, so every figure is from the CPU execution ' +
      'provider. On a machine with one, the same sections would run with the CUDA provider.',
  };

  // A section that fails is reported as failed; the others still run.
  const section = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    if (!only.has(name)) return undefined;
    try {
      return await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`${name} failed: ${message}`);
      report.failures.push(`${name}: ${message}`);
      return undefined;
    }
  };
  report.encoder = await section('encoder', () => runEncoder({ rounds: options.encoderRounds }));
  report.trainingCost = await section('cost', async () =>
    graphsMissing
      ? { skipped: graphsMissing }
      : runTrainingCost({ steps: options.costSteps, tokenSteps: options.tokenCostSteps }),
  );
  report.quality = await section('quality', () => runQuality(quality, graphsMissing));
  report.streaming = await section('streaming', () =>
    runStreaming({
      seenEvents: options.streamEvents,
      impressionEvents: options.impressionEvents,
      newEvents: options.newEvents,
      freshnessSeconds: options.freshnessSeconds,
    }),
  );

  report.elapsedS = (performance.now() - started) / 1000;
  report.load.end = Number((os.loadavg()[0] ?? 0).toFixed(2));
  const out = path.resolve(PACKAGE_ROOT, options.out);
  const markdown = await writeReport(report, out);
  process.stdout.write(markdown);
  log(`report written to ${path.join(out, 'report.md')}`);
  return report.failures.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
