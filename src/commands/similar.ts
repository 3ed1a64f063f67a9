/** The `bahe similar "<text>"` command: the stored behaviors nearest to a text. */
import { normalizeBehaviorText } from '../behavior/normalize.js';
import { formatHelp, type OptionSpecs, parseOptions } from '../config/options.js';
import { OnnxEncoder } from '../encoder/onnx-encoder.js';
import type { ExecutionProvider } from '../encoder/ort-session.js';
import { loadModel } from '../model/load.js';
import { DEFAULT_MODEL_DIR } from '../paths.js';
import { ITEM_BEHAVIOR_TYPE } from '../pipeline/impressions.js';
import { openStore, STORE_OPTION_SPECS } from '../store/select.js';
import type { ScoredRecord } from '../store/types.js';
import { LOG_OPTION_SPECS, loggerFor, RUNTIME_OPTION_SPECS } from './common.js';

export const summary =
  'Print the stored behaviors nearest (cosine) to a text, encoded with the active model.';

/** Every option of the command, for its `--help` and the README's tables. */
export const specs = {
  model: {
    kind: 'string',
    default: DEFAULT_MODEL_DIR,
    description: "Compiled model folder; its encoder version must be the store's active one.",
  },
  k: { kind: 'integer', min: 1, max: 10_000, default: 10, description: 'How many behaviors to print.' },
  type: { kind: 'string', description: 'Only behaviors of this type (e.g. liked).' },
  json: { kind: 'boolean', default: false, description: 'Print JSON lines instead of a table.' },
  ...RUNTIME_OPTION_SPECS,
  ...STORE_OPTION_SPECS,
  ...LOG_OPTION_SPECS,
} as const satisfies OptionSpecs;

export async function main(argv: string[]): Promise<number> {
  const { options, help, positionals } = parseOptions(specs, argv, process.env, {
    allowPositionals: true,
  });
  if (help) {
    process.stdout.write(`${formatHelp('bahe similar "<text>" [options]', summary, specs)}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write('bahe similar takes one text, quoted: bahe similar "toy story (1995)"\n');
    return 2;
  }
  const logger = loggerFor(options);
  try {
    const model = await loadModel(options.model);
    const types = [...model.manifest.behaviorTypes, ITEM_BEHAVIOR_TYPE];
    if (options.type !== undefined && !types.includes(options.type)) {
      process.stderr.write(
        `bahe similar: --type ${options.type} is none of the types this model stores (${types.join(', ')}); nothing can match\n`,
      );
    }
    const binding = { encoderVersion: model.manifest.encoderVersion, dimension: model.manifest.hiddenSize };
    const store = await openStore(options, binding, logger, { readOnly: true });
    try {
      const encoder = await OnnxEncoder.fromModel(model, {
        executionProviders: [options.provider as ExecutionProvider],
        intraOpThreads: options.threads,
      });
      let hits: ScoredRecord[];
      try {
        const [vector] = await encoder.encode([normalizeBehaviorText(positionals[0] as string)]);
        hits = await store.nearest(vector as Float32Array, options.k, {
          ...(options.type === undefined ? {} : { type: options.type }),
        });
      } finally {
        await encoder.close();
      }
      process.stdout.write(options.json ? jsonLines(hits) : table(hits, options.type));
      return 0;
    } finally {
      await store.close();
    }
  } finally {
    logger.flush();
  }
}

function jsonLines(hits: ScoredRecord[]): string {
  return hits
    .map(({ record, score }) => {
      const { vector: _vector, ...fields } = record;
      return `${JSON.stringify({ score, ...fields })}\n`;
    })
    .join('');
}

function table(hits: ScoredRecord[], type: string | undefined): string {
  if (hits.length === 0)
    return type === undefined ? 'no stored behaviors\n' : `no stored behaviors of type ${type}\n`;
  const lines = hits.map(({ record, score }) => {
    const lastSeen = new Date(record.lastSeenMs).toISOString().slice(0, 10);
    return `${score.toFixed(4)}  ${record.type.padEnd(10)}  ${record.text}  (seen ${record.count}x, last ${lastSeen})`;
  });
  return `${lines.join('\n')}\n`;
}
