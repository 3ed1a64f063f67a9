/**
 * Encoder versions of an embedded store dir: `<dir>/<encoderVersion>/` folders, and the alias file
 * `<dir>/active.json` naming the active one. The alias is created with a hard link (it either appears
 * whole or not at all, and never replaces another process's) and switched with a rename.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { fsyncDir, writeFileAtomic } from '../util/durable.js';
import type { EncoderVersionInfo, StoreCatalog } from './catalog.js';
import { EmbeddedStore } from './embedded.js';
import { META_FILE } from './embedded-meta.js';
import type { BehaviorStore, StoreBinding } from './types.js';
import { checkBinding } from './validate.js';

export const ALIAS_FILE = 'active.json';

interface AliasFile {
  encoderVersion: string;
  switchedAt: string;
}

export class EmbeddedCatalog implements StoreCatalog {
  readonly kind = 'embedded';
  readonly location: string;
  readonly #aliasPath: string;
  readonly #logger: Logger | undefined;

  constructor(dir: string, logger?: Logger) {
    this.location = dir;
    this.#aliasPath = path.join(dir, ALIAS_FILE);
    this.#logger = logger;
  }

  async activeVersion(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.#aliasPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const alias = parseAlias(text);
    if (alias === undefined) {
      throw new BaheError(
        ErrorCode.STORE_FAILED,
        `alias file ${this.#aliasPath} is not {"encoderVersion": ...}; restore it or delete it (the next ` +
          'writer then makes its own encoder version active)',
        { context: { path: this.#aliasPath } },
      );
    }
    return alias.encoderVersion;
  }

  async claimActive(encoderVersion: string): Promise<string> {
    const active = await this.activeVersion();
    if (active !== undefined) return active;
    checkBinding({ encoderVersion, dimension: 1 });
    await mkdir(this.location, { recursive: true });
    const temp = `${this.#aliasPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(aliasText(encoderVersion));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await link(temp, this.#aliasPath);
      await fsyncDir(this.location);
      if (this.#logger !== undefined) {
        // The version is named once: a service's logger already carries it.
        const named = this.#logger.bindings().encoderVersion === encoderVersion ? {} : { encoderVersion };
        this.#logger.info({ ...named, alias: this.#aliasPath }, 'alias created');
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temp).catch(() => {});
    }
    return (await this.activeVersion()) as string;
  }

  async switchActive(encoderVersion: string): Promise<void> {
    if ((await this.dimensionOf(encoderVersion)) === undefined) {
      throw new BaheError(
        ErrorCode.STORE_FAILED,
        `no encoder version ${encoderVersion} in ${this.location} to switch to; backfill it first`,
        { context: { path: this.location } },
      );
    }
    await writeFileAtomic(this.#aliasPath, aliasText(encoderVersion));
  }

  async versions(): Promise<EncoderVersionInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const active = await this.activeVersion();
    const found: EncoderVersionInfo[] = [];
    for (const name of names.sort()) {
      const dimension = await this.dimensionOf(name);
      if (dimension === undefined) continue;
      found.push({
        encoderVersion: name,
        dimension,
        active: name === active,
        location: path.join(this.location, name),
      });
    }
    return found;
  }

  async dimensionOf(encoderVersion: string): Promise<number | undefined> {
    const file = path.join(this.location, encoderVersion, META_FILE);
    try {
      const meta = JSON.parse(await readFile(file, 'utf8')) as {
        encoderVersion?: unknown;
        dimension?: unknown;
      };
      return meta.encoderVersion === encoderVersion && typeof meta.dimension === 'number'
        ? meta.dimension
        : undefined;
    } catch {
      return undefined;
    }
  }

  store(binding: StoreBinding, options: { readOnly?: boolean } = {}): BehaviorStore {
    return new EmbeddedStore({
      dir: this.location,
      ...binding,
      readOnly: options.readOnly ?? false,
      ...(this.#logger === undefined ? {} : { logger: this.#logger }),
    });
  }

  async drop(encoderVersion: string): Promise<void> {
    checkBinding({ encoderVersion, dimension: 1 });
    if ((await this.activeVersion()) === encoderVersion) throw activeDrop(encoderVersion, this.location);
    if ((await this.dimensionOf(encoderVersion)) === undefined)
      throw absentDrop(encoderVersion, this.location);
    await rm(path.join(this.location, encoderVersion), { recursive: true, force: true });
  }
}

export function activeDrop(encoderVersion: string, location: string): BaheError {
  return new BaheError(
    ErrorCode.STORE_FAILED,
    `encoder version ${encoderVersion} is the active one in ${location}; backfill and switch to another ` +
      'version before dropping it',
    { context: { path: location } },
  );
}

export function absentDrop(encoderVersion: string, location: string): BaheError {
  return new BaheError(
    ErrorCode.STORE_FAILED,
    `no encoder version ${encoderVersion} in ${location}; bahe versions lists those there are`,
    { context: { path: location } },
  );
}

function aliasText(encoderVersion: string): string {
  const alias: AliasFile = { encoderVersion, switchedAt: new Date().toISOString() };
  return `${JSON.stringify(alias, null, 2)}\n`;
}

function parseAlias(text: string): AliasFile | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<AliasFile>;
    return typeof parsed.encoderVersion === 'string' ? (parsed as AliasFile) : undefined;
  } catch {
    return undefined;
  }
}
