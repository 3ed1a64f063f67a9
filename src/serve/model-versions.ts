/**
 * The model version the scorer serves: parameters and side-feature statistics read from a trainer
 * checkpoint. A reload builds the new version completely, then swaps one reference; a request keeps
 * the version it started with, so reloads neither drop nor fail requests in flight.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { type SideFeatureState, SideFeatures } from '../features/side-features.js';
import type { Logger } from '../log.js';
import { modelVersion } from '../services/trainer/trainer-state.js';
import { checkIdentity, type ModelIdentity, readCheckpointFile } from '../trainer/checkpoint.js';

export interface ServedVersion {
  version: string;
  step: number;
  /** The checkpoint file it was read from. */
  path: string;
  parameters: ReadonlyMap<string, Float32Array>;
  /** Read-only here: the scorer writes features from them and never records labels. */
  features: SideFeatures;
  loadedAtMs: number;
}

/** A request to load a version: a checkpoint's location and, when an update event gave it, its step. */
export interface LoadRequest {
  location: string;
  step?: number;
  /** Where the request came from, for the log: `kafka` or `folder`. */
  source: string;
}

export type ReloadOutcome = 'loaded' | 'failed' | 'skipped';

export class ModelVersions {
  readonly #model: ModelIdentity;
  readonly #checkpointDir: string;
  readonly #logger: Logger;
  readonly #onOutcome: (outcome: ReloadOutcome) => void;
  #current: ServedVersion | undefined;
  #loading: Promise<void> | undefined;
  #pending: LoadRequest | undefined;

  constructor(
    model: ModelIdentity,
    checkpointDir: string,
    logger: Logger,
    onOutcome: (outcome: ReloadOutcome) => void = () => undefined,
  ) {
    this.#model = model;
    this.#checkpointDir = checkpointDir;
    this.#logger = logger.child({ component: 'model-versions' });
    this.#onOutcome = onOutcome;
  }

  /** The version new requests are scored with; undefined until one has loaded. */
  get current(): ServedVersion | undefined {
    return this.#current;
  }

  /**
   * Loads the checkpoint `request` names, unless it is not newer than the served version. Requests
   * that arrive while one loads are coalesced: only the newest of them is loaded next.
   */
  request(request: LoadRequest): Promise<void> {
    const pending = this.#pending;
    if (pending === undefined || (request.step ?? Infinity) >= (pending.step ?? -1)) this.#pending = request;
    this.#loading ??= this.#drain().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  /** Waits for loads in progress or queued. */
  async settled(): Promise<void> {
    while (this.#loading !== undefined) await this.#loading;
  }

  async #drain(): Promise<void> {
    for (let next = this.#take(); next !== undefined; next = this.#take()) await this.#load(next);
  }

  #take(): LoadRequest | undefined {
    const next = this.#pending;
    this.#pending = undefined;
    return next;
  }

  async #load(request: LoadRequest): Promise<void> {
    const current = this.#current;
    if (current !== undefined && request.step !== undefined && request.step <= current.step) {
      this.#onOutcome('skipped');
      return;
    }
    const file = await this.#resolve(request.location);
    if (current !== undefined && file === current.path) {
      this.#onOutcome('skipped');
      return;
    }

    let next: ServedVersion;
    try {
      const checkpoint = await readCheckpointFile(file);
      checkIdentity(file, checkpoint.model, this.#model);
      next = {
        version: modelVersion(this.#model, checkpoint.step),
        step: checkpoint.step,
        path: file,
        parameters: checkpoint.parameters,
        features: SideFeatures.fromJSON(checkpoint.sideFeatures as SideFeatureState),
        loadedAtMs: Date.now(),
      };
    } catch (error) {
      this.#onOutcome('failed');
      const data = { err: error, location: request.location, source: request.source };
      this.#logger.warn(
        { ...data, serving: current?.version },
        'model version not loaded; serving the previous one',
      );
      return;
    }
    if (current !== undefined && next.step < current.step) {
      this.#onOutcome('skipped');
      return;
    }
    this.#current = next;
    this.#onOutcome('loaded');
    this.#logger.info(
      { version: next.version, path: file, source: request.source, previous: current?.version },
      'model version loaded',
    );
  }

  /**
   * The checkpoint's path as given when it exists here, otherwise the file of that name in the
   * checkpoint folder (a trainer on another host, or another working folder, names its own path).
   */
  async #resolve(location: string): Promise<string> {
    const given = path.resolve(location);
    const exists = await access(given).then(
      () => true,
      () => false,
    );
    return exists ? given : path.resolve(this.#checkpointDir, path.basename(location));
  }
}
