/** Resources opened one after another and released in reverse order, each failure logged, not thrown. */
import type { Logger } from '../log.js';

export class Releases {
  readonly #logger: Logger;
  #releases: Array<() => Promise<void>> = [];

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Registers how to release what was just opened. */
  add(release: () => Promise<void>): void {
    this.#releases.push(release);
  }

  /** Releases everything, newest first; safe to call twice. */
  async releaseAll(): Promise<void> {
    const releases = this.#releases.reverse();
    this.#releases = [];
    for (const release of releases) {
      await release().catch((error: unknown) =>
        this.#logger.warn({ err: error }, 'release failed during shutdown'),
      );
    }
  }
}
