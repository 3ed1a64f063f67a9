/**
 * Encoder versions in Qdrant: collection `<prefix>__<encoderVersion>` per version and the collection
 * alias `<prefix>` naming the active one. Switching deletes and re-creates the alias in one
 * update-aliases request, which Qdrant applies atomically: a reader sees the old or the new collection.
 */
import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { EncoderVersionInfo, StoreCatalog } from './catalog.js';
import { absentDrop, activeDrop } from './embedded-catalog.js';
import { collectionDimension, QdrantStore } from './qdrant.js';
import { QdrantConnection } from './qdrant-connection.js';
import type { QdrantConnectionOptions } from './qdrant-options.js';
import type { BehaviorStore, StoreBinding } from './types.js';
import { checkBinding } from './validate.js';

const SEPARATOR = '__';
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

export interface QdrantCatalogOptions extends QdrantConnectionOptions {
  /** Alias name, and the start of every collection name. */
  collectionPrefix: string;
  /** Passed to the stores the catalog makes. */
  maxRequestBytes?: number;
}

export class QdrantCatalog implements StoreCatalog {
  readonly kind = 'qdrant';
  readonly location: string;
  readonly alias: string;
  readonly #options: QdrantCatalogOptions;
  readonly #connection: QdrantConnection;
  readonly #logger: Logger | undefined;

  constructor(options: QdrantCatalogOptions) {
    if (!PREFIX.test(options.collectionPrefix)) {
      throw new BaheError(
        ErrorCode.CONFIG_INVALID,
        `--qdrant-collection-prefix must be 1 to 100 letters, digits, '_' or '-'; got ` +
          JSON.stringify(options.collectionPrefix),
        { context: { field: 'qdrantCollectionPrefix' } },
      );
    }
    this.#options = options;
    this.#logger = options.logger;
    this.#connection = new QdrantConnection(options);
    this.alias = options.collectionPrefix;
    this.location = `${this.#connection.url} alias ${this.alias}`;
  }

  collectionOf(encoderVersion: string): string {
    return `${this.alias}${SEPARATOR}${encoderVersion}`;
  }

  async activeVersion(): Promise<string | undefined> {
    const { aliases } = await this.#connection.call('list aliases', undefined, (client) =>
      client.getAliases(),
    );
    const entry = aliases.find((a) => a.alias_name === this.alias);
    if (entry === undefined) return undefined;
    const version = this.#versionOf(entry.collection_name);
    if (version === undefined) {
      throw new BaheError(
        ErrorCode.STORE_MISMATCH,
        `alias ${this.alias} points at collection ${entry.collection_name}, which is not one of ` +
          `${this.collectionOf('<encoder version>')}; choose another --qdrant-collection-prefix`,
        { context: { collection: entry.collection_name } },
      );
    }
    return version;
  }

  async claimActive(encoderVersion: string): Promise<string> {
    const active = await this.activeVersion();
    if (active !== undefined) return active;
    checkBinding({ encoderVersion, dimension: 1 });
    const collection = this.collectionOf(encoderVersion);
    try {
      await this.#updateAliases([{ create_alias: { collection_name: collection, alias_name: this.alias } }]);
      this.#logger?.info({ alias: this.alias, collection }, 'alias created');
    } catch (error) {
      // Another process created the alias first; its choice stands.
      const now = await this.activeVersion();
      if (now === undefined) throw error;
      return now;
    }
    return encoderVersion;
  }

  async switchActive(encoderVersion: string): Promise<void> {
    if ((await this.dimensionOf(encoderVersion)) === undefined) {
      throw new BaheError(
        ErrorCode.STORE_FAILED,
        `no collection ${this.collectionOf(encoderVersion)} to switch alias ${this.alias} to; backfill it first`,
        { context: { collection: this.collectionOf(encoderVersion) } },
      );
    }
    await this.#updateAliases([
      { delete_alias: { alias_name: this.alias } },
      { create_alias: { collection_name: this.collectionOf(encoderVersion), alias_name: this.alias } },
    ]);
  }

  async versions(): Promise<EncoderVersionInfo[]> {
    const { collections } = await this.#connection.call('list collections', undefined, (client) =>
      client.getCollections(),
    );
    const active = await this.activeVersion();
    const found: EncoderVersionInfo[] = [];
    for (const { name } of collections.sort((a, b) => a.name.localeCompare(b.name))) {
      const encoderVersion = this.#versionOf(name);
      if (encoderVersion === undefined) continue;
      found.push({
        encoderVersion,
        dimension: await collectionDimension(this.#connection, name),
        active: encoderVersion === active,
        location: name,
      });
    }
    return found;
  }

  async dimensionOf(encoderVersion: string): Promise<number | undefined> {
    const collection = this.collectionOf(encoderVersion);
    const { exists } = await this.#connection.call('collection exists', collection, (client) =>
      client.collectionExists(collection),
    );
    return exists ? collectionDimension(this.#connection, collection) : undefined;
  }

  store(binding: StoreBinding, options: { readOnly?: boolean } = {}): BehaviorStore {
    return new QdrantStore({
      ...this.#options,
      ...binding,
      collection: this.collectionOf(binding.encoderVersion),
      readOnly: options.readOnly ?? false,
    });
  }

  async drop(encoderVersion: string): Promise<void> {
    checkBinding({ encoderVersion, dimension: 1 });
    const collection = this.collectionOf(encoderVersion);
    if ((await this.activeVersion()) === encoderVersion) throw activeDrop(encoderVersion, this.location);
    if ((await this.dimensionOf(encoderVersion)) === undefined)
      throw absentDrop(encoderVersion, this.location);
    await this.#connection.call('delete collection', collection, (client) =>
      client.deleteCollection(collection),
    );
  }

  #versionOf(collection: string): string | undefined {
    const start = `${this.alias}${SEPARATOR}`;
    return collection.startsWith(start) && collection.length > start.length
      ? collection.slice(start.length)
      : undefined;
  }

  #updateAliases(actions: Parameters<QdrantConnection['client']['updateCollectionAliases']>[0]['actions']) {
    return this.#connection.call('update aliases', this.alias, (client) =>
      client.updateCollectionAliases({ actions }),
    );
  }
}
