/** The `bahe backfill` command: re-encode every stored behavior with another model, then switch the alias. */
import { formatHelp, type OptionSpecs, parseOptions } from '../config/options.js';
import { OnnxEncoder } from '../encoder/onnx-encoder.js';
import type { ExecutionProvider } from '../encoder/ort-session.js';
import { backfill } from '../maintenance/backfill.js';
import { loadModel } from '../model/load.js';
import { openCatalog, STORE_OPTION_SPECS } from '../store/select.js';
import { LOG_OPTION_SPECS, loggerFor, RUNTIME_OPTION_SPECS, stopOnSignals } from './common.js';

export const summary =
  'Re-encode every stored behavior into the store of a new encoder version (--model), then switch the alias to it.';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = {
  model: {
    kind: 'string',
    description: 'Compiled model folder of the new encoder version (required).',
  },
  batchSize: {
    kind: 'integer',
    min: 1,
    max: 4096,
    default: 256,
    description: 'Behaviors read, checked and encoded per step.',
  },
  switch: {
    kind: 'boolean',
    default: true,
    description: 'Switch the alias to the new version once every behavior is there (--no-switch: fill only).',
  },
  progressIntervalMs: {
    kind: 'integer',
    min: 100,
    default: 5_000,
    description: 'Milliseconds between progress lines.',
  },
  ...RUNTIME_OPTION_SPECS,
  ...STORE_OPTION_SPECS,
  ...LOG_OPTION_SPECS,
} as const satisfies OptionSpecs;

/** Exit status: 0 when done (switched, or --no-switch), 130 when a signal stopped it; rerunning resumes. */
export async function main(argv: string[]): Promise<number> {
  const { options, help } = parseOptions(specs, argv);
  if (help) {
    process.stdout.write(`${formatHelp('bahe backfill --model <folder> [options]', summary, specs)}\n`);
    return 0;
  }
  if (options.model === undefined) {
    process.stderr.write('bahe backfill needs --model <folder>: the model of the new encoder version\n');
    return 2;
  }
  const logger = loggerFor(options);
  const stop = stopOnSignals(logger, 'stopping: finishing the batch in progress; rerun to continue');
  try {
    const model = await loadModel(options.model);
    const { manifest } = model;
    const encoder = await OnnxEncoder.fromModel(model, {
      executionProviders: [options.provider as ExecutionProvider],
      intraOpThreads: options.threads,
    });
    try {
      const result = await backfill(
        openCatalog(options, logger),
        { encoderVersion: manifest.encoderVersion, dimension: manifest.hiddenSize },
        (texts) => encoder.encode(texts),
        {
          batchSize: options.batchSize,
          switchAlias: options.switch,
          progressIntervalMs: options.progressIntervalMs,
          signal: stop.signal,
        },
        logger,
      );
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return result.interrupted ? 130 : 0;
    } finally {
      await encoder.close();
    }
  } finally {
    stop.dispose();
    logger.flush();
  }
}
