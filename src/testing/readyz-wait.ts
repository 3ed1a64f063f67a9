/**
 * A testcontainers wait strategy that polls the service's /readyz from this host. testcontainers' own
 * HTTP strategy reads the port from the container's port bindings, which a host-network container
 * does not have.
 */
import type { WaitStrategy } from 'testcontainers';
import { BaheError, ErrorCode } from '../errors.js';
import type { ContainerLog } from './container-log.js';

type Container = Parameters<WaitStrategy['waitUntilReady']>[0];

const POLL_MS = 250;
const REQUEST_TIMEOUT_MS = 2_000;
const DEFAULT_TIMEOUT_MS = 60_000;
const LOG_LINES_SHOWN = 20;

export class ReadyzWaitStrategy implements WaitStrategy {
  readonly #url: string;
  readonly #log: ContainerLog;
  #timeoutMs = DEFAULT_TIMEOUT_MS;
  #timeoutSet = false;

  constructor(url: string, log: ContainerLog) {
    this.#url = url;
    this.#log = log;
  }

  withStartupTimeout(startupTimeoutMs: number): this {
    this.#timeoutMs = startupTimeoutMs;
    this.#timeoutSet = true;
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.#timeoutSet;
  }

  getStartupTimeout(): number {
    return this.#timeoutMs;
  }

  /** Resolves on a 200; fails at once when the container exits, or with the last answer at the deadline. */
  async waitUntilReady(container: Container): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    let lastAnswer = 'no answer yet';

    for (;;) {
      const state = (await container.inspect()).State;
      if (!state.Running) {
        throw await this.#failure(`exited with status ${state.ExitCode} before ${this.#url} answered 200`);
      }

      const answer = await probe(this.#url);
      if (answer === undefined) return;
      lastAnswer = answer;

      if (Date.now() >= deadline) {
        throw await this.#failure(
          `was not ready within ${this.#timeoutMs} ms (the last answer of ${this.#url}: ${lastAnswer})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async #failure(what: string): Promise<BaheError> {
    const tail = await this.#log.tail(LOG_LINES_SHOWN);
    return new BaheError(
      ErrorCode.CONTAINER_FAILED,
      `the bahe-stream container ${what}; its log ends:\n${tail === '' ? '(empty)' : tail}`,
      { context: { url: this.#url } },
    );
  }
}

/** Undefined on a 200, otherwise the status and body (or the connection error), for messages. */
async function probe(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await response.text();
    return response.status === 200 ? undefined : `${response.status} ${body.slice(0, 500)}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
