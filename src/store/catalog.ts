/**
 * The encoder versions a store holds and which one is active. Readers and writers open the active
 * version (the alias); a backfill fills another version and then switches the alias in one atomic step.
 * Embedded: one folder per version under the store dir and an alias file naming the active one.
 * Qdrant: one collection per version and a collection alias.
 */
import type { BehaviorStore, StoreBinding } from './types.js';

export interface EncoderVersionInfo {
  encoderVersion: string;
  dimension: number;
  active: boolean;
  /** Folder or collection name. */
  location: string;
}

export interface StoreCatalog {
  readonly kind: 'embedded' | 'qdrant';
  /** Where the store lives, for messages (folder, or server and alias). */
  readonly location: string;
  /** The encoder version the alias names, if any. */
  activeVersion(): Promise<string | undefined>;
  /** Makes `encoderVersion` active when no version is; returns the active version afterwards. */
  claimActive(encoderVersion: string): Promise<string>;
  /** Points the alias at `encoderVersion` (which must exist) in one atomic step. */
  switchActive(encoderVersion: string): Promise<void>;
  versions(): Promise<EncoderVersionInfo[]>;
  /** The vector width stored for `encoderVersion`, undefined when the version does not exist. */
  dimensionOf(encoderVersion: string): Promise<number | undefined>;
  /** An unopened store of one encoder version. */
  store(binding: StoreBinding, options?: { readOnly?: boolean }): BehaviorStore;
  /** Deletes one encoder version's folder or collection; the active one is refused. */
  drop(encoderVersion: string): Promise<void>;
}
