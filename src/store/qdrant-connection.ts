/**
 * One Qdrant client with the project's rules around every request: at most N in flight, transient
 * failures retried with backoff and jitter, and every failure translated into a BaheError.
 */
import { QdrantClient } from '@qdrant/js-client-rest';
import type { BaheError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { Limiter } from '../util/limiter.js';
import { withRetry } from '../util/retry.js';
import { translateQdrantError } from './qdrant-errors.js';
import {
  type CheckedConnectionOptions,
  checkConnectionOptions,
  type QdrantConnectionOptions,
} from './qdrant-options.js';

export class QdrantConnection {
  readonly client: QdrantClient;
  /** The server address without credentials, for messages and logs. */
  readonly url: string;
  readonly #options: CheckedConnectionOptions;
  readonly #limiter: Limiter;
  readonly #logger: Logger;

  constructor(options: QdrantConnectionOptions) {
    this.#options = checkConnectionOptions(options);
    const address = new URL(this.#options.url);
    address.username = '';
    address.password = '';
    this.url = address.toString().replace(/\/$/, '');
    this.#limiter = new Limiter(this.#options.maxConcurrentRequests);
    this.#logger = (options.logger ?? silentLogger()).child({ qdrant: this.url });

    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(address.hostname);
    if (this.#options.apiKey !== undefined && address.protocol === 'http:' && !loopback) {
      this.#logger.warn('the Qdrant API key goes over plain http; use an https:// url');
    }
    // The client owns its connection pool and offers no way to close it: idle keep-alive connections
    // hold a finished command for a few seconds before the process exits.
    // The client's `url` parameter ignores a path and puts 6333 in place of an absent port, so the
    // parts are passed one by one: the url given means what it says.
    this.client = new QdrantClient({
      host: address.hostname,
      port: address.port === '' ? null : Number(address.port),
      https: address.protocol === 'https:',
      ...(address.pathname === '/' ? {} : { prefix: address.pathname.replace(/\/$/, '') }),
      timeout: this.#options.timeoutMs,
      maxConnections: this.#options.maxConcurrentRequests,
      // The version check logs with console.warn outside our logger; reachability shows on first use.
      checkCompatibility: false,
      // As a header rather than `apiKey`, which makes the client warn on console about plain http.
      headers: this.#options.apiKey === undefined ? {} : { 'api-key': this.#options.apiKey },
    });
  }

  /** Runs one request under the concurrency bound, retrying transient failures. */
  call<T>(
    operation: string,
    collection: string | undefined,
    request: (client: QdrantClient) => Promise<T>,
  ): Promise<T> {
    const context = { operation, collection, url: this.url };
    const { retries, retryBaseDelayMs, retryMaxDelayMs } = this.#options;
    return withRetry(
      () =>
        this.#limiter.run(() =>
          request(this.client).catch((error: unknown) => {
            throw translateQdrantError(error, context);
          }),
        ),
      { retries, baseDelayMs: retryBaseDelayMs, maxDelayMs: retryMaxDelayMs },
      {
        isRetryable: (error) => (error as BaheError).retryable === true,
        delayHintMs: (error) => (error as BaheError).context?.retryAfterMs as number | undefined,
        onRetry: (error, attempt, delayMs) =>
          this.#logger.warn(
            { err: error, operation, collection, attempt, retries, delayMs },
            'Qdrant request failed; retrying',
          ),
      },
    );
  }
}
