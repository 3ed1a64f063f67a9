/**
 * Backfill: re-encode every behavior of the active encoder version into the store of a new one, then
 * switch the alias. Resumable: each batch first asks the new store which behaviors it lacks, so a rerun
 * after a crash encodes only what is still missing. The old version stays until `bahe drop-version`.
 */
import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { EncodeTexts } from '../pipeline/behavior-vectors.js';
import { Progress } from '../pipeline/progress.js';
import type { StoreCatalog } from '../store/catalog.js';
import type { BehaviorRecord, BehaviorStore, StoreBinding } from '../store/types.js';

export interface BackfillOptions {
  /** Records read, checked and encoded per step. */
  batchSize: number;
  /** Switch the alias to the new version when every behavior is there. */
  switchAlias: boolean;
  progressIntervalMs: number;
  signal?: AbortSignal;
}

export interface BackfillResult {
  from: string;
  to: string;
  /** Records of the old version read. */
  scanned: number;
  /** Records encoded and written to the new version in this run. */
  encoded: number;
  /** Records the new version already held (an earlier, interrupted run wrote them). */
  alreadyThere: number;
  /** Records in the new version at the end. */
  targetCount: number;
  switched: boolean;
  /** Set when a signal stopped the run before the end; rerun to finish. */
  interrupted: boolean;
  elapsedS: number;
}

export async function backfill(
  catalog: StoreCatalog,
  target: StoreBinding,
  encode: EncodeTexts,
  options: BackfillOptions,
  logger: Logger,
): Promise<BackfillResult> {
  const started = performance.now();
  const from = await catalog.activeVersion();
  if (from === undefined) {
    throw new BaheError(
      ErrorCode.STORE_FAILED,
      `the store at ${catalog.location} has no active encoder version, so there is nothing to backfill`,
    );
  }
  const log = logger.child({ from, to: target.encoderVersion });
  const result: BackfillResult = {
    from,
    to: target.encoderVersion,
    scanned: 0,
    encoded: 0,
    alreadyThere: 0,
    targetCount: 0,
    switched: false,
    interrupted: false,
    elapsedS: 0,
  };
  if (from === target.encoderVersion) {
    log.info('the new encoder version is already the active one; nothing to do');
    return result;
  }

  const fromDimension = (await catalog.dimensionOf(from)) as number;
  const source = catalog.store({ encoderVersion: from, dimension: fromDimension }, { readOnly: true });
  await source.open();
  try {
    const destination = catalog.store(target);
    await destination.open();
    try {
      await copyAll(source, destination, encode, options, result, log);
      result.targetCount = await destination.count();
    } finally {
      await destination.close();
    }
  } finally {
    await source.close();
  }

  if (!result.interrupted && options.switchAlias) {
    const now = await catalog.activeVersion();
    if (now !== from) {
      throw new BaheError(
        ErrorCode.STORE_FAILED,
        `the active encoder version changed from ${from} to ${String(now)} during the backfill; the alias ` +
          'was left alone: check what switched it, then rerun',
      );
    }
    await catalog.switchActive(target.encoderVersion);
    result.switched = true;
    log.info({ targetCount: result.targetCount }, 'alias switched to the new encoder version');
  }
  result.elapsedS = (performance.now() - started) / 1000;
  return result;
}

async function copyAll(
  source: BehaviorStore,
  destination: BehaviorStore,
  encode: EncodeTexts,
  options: BackfillOptions,
  result: BackfillResult,
  log: Logger,
): Promise<void> {
  const total = await source.count();
  log.info({ behaviors: total }, 'backfill started');
  const progress = new Progress(log, { unit: 'behaviors', total, intervalMs: options.progressIntervalMs });
  for await (const batch of source.scan(options.batchSize)) {
    if (options.signal?.aborted) {
      result.interrupted = true;
      log.warn({ scanned: result.scanned }, 'backfill interrupted; rerun it to continue');
      return;
    }
    const absent = new Set(await destination.missing(batch.map((record) => record.id)));
    const todo = batch.filter((record) => absent.has(record.id));
    if (todo.length > 0) {
      const vectors = await encode(todo.map((record) => record.text));
      const records: BehaviorRecord[] = todo.map((record, i) => ({
        ...record,
        vector: vectors[i] as Float32Array,
      }));
      await destination.upsert(records);
    }
    result.scanned += batch.length;
    result.encoded += todo.length;
    result.alreadyThere += batch.length - todo.length;
    progress.advance(batch.length, { encoded: result.encoded });
  }
  log.info({ scanned: result.scanned, encoded: result.encoded }, 'backfill copied every behavior');
}
