/**
 * Store selection shared by every command: the STORE options, the catalog they describe, and
 * `openStore`, which opens the store of the active encoder version (the alias) for a model.
 */
import type { OptionSpecs, ParsedOptions } from '../config/options.js';
import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { StoreCatalog } from './catalog.js';
import { EmbeddedCatalog } from './embedded-catalog.js';
import { QdrantCatalog } from './qdrant-catalog.js';
import { QDRANT_DEFAULTS, QDRANT_MAX_REQUEST_BYTES } from './qdrant-options.js';
import type { BehaviorStore, StoreBinding } from './types.js';

export const STORE_OPTION_SPECS = {
  store: {
    kind: 'string',
    choices: ['auto', 'embedded', 'qdrant'],
    default: 'auto',
    description:
      'Where behavior vectors live; auto is qdrant when a Qdrant url is set (--qdrant-url, QDRANT_URL), else embedded.',
  },
  storeDir: {
    kind: 'string',
    default: '.bahe/store',
    description:
      'Embedded store folder: one folder per encoder version and active.json naming the active one.',
  },
  qdrantUrl: {
    kind: 'string',
    description: 'Qdrant server, e.g. http://127.0.0.1:6333 or https://... (TLS). Also read from QDRANT_URL.',
  },
  qdrantApiKey: {
    kind: 'string',
    secret: true,
    description: 'Qdrant API key (never logged); prefer the variable (or QDRANT_API_KEY) to a flag.',
  },
  qdrantCollectionPrefix: {
    kind: 'string',
    default: 'bahe_behaviors',
    description: 'Alias readers use; the collection of each encoder version is <prefix>__<encoder version>.',
  },
  qdrantTimeoutMs: {
    kind: 'integer',
    min: 1,
    max: 3_600_000,
    default: QDRANT_DEFAULTS.timeoutMs,
    description: 'Milliseconds one Qdrant request may take before it is abandoned and retried.',
  },
  qdrantMaxConcurrentRequests: {
    kind: 'integer',
    min: 1,
    max: 256,
    default: QDRANT_DEFAULTS.maxConcurrentRequests,
    description: 'Qdrant requests in flight at once per client; more wait their turn.',
  },
  qdrantRetries: {
    kind: 'integer',
    min: 0,
    max: 100,
    default: QDRANT_DEFAULTS.retries,
    description: 'Retries, with exponential backoff and jitter, of a transient Qdrant failure.',
  },
  qdrantMaxRequestBytes: {
    kind: 'integer',
    min: 64 * 1024,
    max: QDRANT_MAX_REQUEST_BYTES,
    default: QDRANT_DEFAULTS.maxRequestBytes,
    description:
      'Bytes of one Qdrant request body at most; larger writes are split (the server refuses over 32 MiB).',
  },
} as const satisfies OptionSpecs;

export type StoreCliOptions = ParsedOptions<typeof STORE_OPTION_SPECS>;

export interface OpenStoreSettings {
  /** Refuses writes; the embedded store is then read without its lock, beside a running writer. */
  readOnly?: boolean;
  /** Where QDRANT_URL and QDRANT_API_KEY are read; the process environment by default. */
  env?: NodeJS.ProcessEnv;
}

/** The catalog the options describe: Qdrant when chosen (or auto with a url), else the embedded dir. */
export function openCatalog(options: StoreCliOptions, logger: Logger, env = process.env): StoreCatalog {
  const url = options.qdrantUrl ?? nonEmpty(env.QDRANT_URL);
  const kind = options.store === 'auto' ? (url === undefined ? 'embedded' : 'qdrant') : options.store;
  if (kind === 'embedded') return new EmbeddedCatalog(options.storeDir, logger);
  if (url === undefined) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      '--store qdrant needs a server: give --qdrant-url (BAHE_QDRANT_URL or QDRANT_URL)',
      { context: { field: 'qdrantUrl' } },
    );
  }
  const apiKey = options.qdrantApiKey ?? nonEmpty(env.QDRANT_API_KEY);
  return new QdrantCatalog({
    url,
    ...(apiKey === undefined ? {} : { apiKey }),
    collectionPrefix: options.qdrantCollectionPrefix,
    timeoutMs: options.qdrantTimeoutMs,
    maxConcurrentRequests: options.qdrantMaxConcurrentRequests,
    retries: options.qdrantRetries,
    maxRequestBytes: options.qdrantMaxRequestBytes,
    logger,
  });
}

/**
 * Opens the store of `binding`'s encoder version, which must be the active one: a new store makes it
 * active; a store whose alias names another version is refused, so vectors of two encoders never mix.
 */
export async function openStore(
  options: StoreCliOptions,
  binding: StoreBinding,
  logger: Logger,
  settings: OpenStoreSettings = {},
): Promise<BehaviorStore> {
  const catalog = openCatalog(options, logger, settings.env);
  const readOnly = settings.readOnly ?? false;
  let active = await catalog.activeVersion();
  if (active === undefined && readOnly) {
    throw new BaheError(
      ErrorCode.STORE_FAILED,
      `the store at ${catalog.location} has no active encoder version yet; run bahe run or bahe encoder first`,
    );
  }
  checkActive(active, binding, catalog);

  const store = catalog.store(binding, { readOnly });
  await store.open();
  if (active === undefined) {
    // The collection exists now, so the alias can name it (Qdrant refuses an alias to nothing).
    active = await catalog.claimActive(binding.encoderVersion);
    if (active !== binding.encoderVersion) await store.close();
    checkActive(active, binding, catalog);
  }
  return store;
}

function checkActive(active: string | undefined, binding: StoreBinding, catalog: StoreCatalog): void {
  if (active === undefined || active === binding.encoderVersion) return;
  throw new BaheError(
    ErrorCode.STORE_MISMATCH,
    `the store at ${catalog.location} serves encoder version ${active}, but this model's encoder version is ` +
      `${binding.encoderVersion}; run bahe backfill --model <this model> to re-encode into it and switch, or ` +
      `use the model of ${active}`,
    { context: { activeEncoderVersion: active, encoderVersion: binding.encoderVersion } },
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Opens the active encoder version's store without a model, for maintenance such as pruning. */
export async function openActiveStore(
  options: StoreCliOptions,
  logger: Logger,
  settings: OpenStoreSettings = {},
): Promise<BehaviorStore> {
  const catalog = openCatalog(options, logger, settings.env);
  const active = await catalog.activeVersion();
  const dimension = active === undefined ? undefined : await catalog.dimensionOf(active);
  if (active === undefined || dimension === undefined) {
    throw new BaheError(
      ErrorCode.STORE_FAILED,
      `the store at ${catalog.location} has no active encoder version; check --store and its location`,
    );
  }
  const store = catalog.store(
    { encoderVersion: active, dimension },
    { readOnly: settings.readOnly ?? false },
  );
  await store.open();
  return store;
}
