/**
 * The operations HTTP server every service runs: `/healthz` (the process answers), `/readyz` (its
 * broker, store and model are ready) and `/metrics` (Prometheus text). Other routes, such as the
 * scorer's `/predict`, are added by the command that owns them.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BaheError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { METRICS_CONTENT_TYPE, type MetricsRegistry } from './metrics.js';

/** One readiness condition: `true` when ready, otherwise `false` or a reason for the operator. */
export interface ReadinessCheck {
  name: string;
  check(): boolean | string | Promise<boolean | string>;
}

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export interface OpsServerOptions {
  /** Interface to bind; loopback unless the operator chose otherwise. */
  host: string;
  /** TCP port; 0 lets the system pick a free one (see `address` once started). */
  port: number;
  registry: MetricsRegistry;
  logger: Logger;
  /** How long `stop()` waits for requests in flight before closing their connections. */
  drainTimeoutMs?: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ready: boolean; reason?: string }>;
}

export class OpsServer {
  readonly #options: OpsServerOptions;
  readonly #logger: Logger;
  readonly #checks: ReadinessCheck[] = [];
  readonly #routes = new Map<string, { method: string; handle: RouteHandler }>();
  readonly #server: http.Server;
  #address: AddressInfo | undefined;

  constructor(options: OpsServerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'ops-server' });
    this.#server = http.createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => this.#failed(response, error));
    });
    // Slow or idle clients must not hold sockets forever; a scrape or a prediction takes well under this.
    this.#server.requestTimeout = 30_000;
    this.#server.headersTimeout = 10_000;
    // Longer than the idle timeout of common load balancers and HTTP clients (60 s), so that the
    // client, not the server, ends an idle keep-alive connection: a request sent on a connection the
    // server is closing at that moment fails with ECONNRESET.
    this.#server.keepAliveTimeout = 65_000;
  }

  /** Adds a readiness condition; `/readyz` is ready when every one is. */
  addReadiness(check: ReadinessCheck): void {
    this.#checks.push(check);
  }

  /** Serves `method path` with `handle`; the ops paths cannot be replaced. */
  route(method: string, path: string, handle: RouteHandler): void {
    if (['/healthz', '/readyz', '/metrics'].includes(path)) throw new RangeError(`${path} is reserved`);
    this.#routes.set(path, { method, handle });
  }

  /** Where the server listens, once started. */
  get address(): { host: string; port: number } {
    if (this.#address === undefined) throw new Error('the ops server is not listening');
    return { host: this.#address.address, port: this.#address.port };
  }

  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async start(): Promise<void> {
    const { host, port } = this.#options;
    await new Promise<void>((resolve, reject) => {
      const onError = (cause: NodeJS.ErrnoException) => {
        reject(
          new BaheError(
            ErrorCode.CONFIG_INVALID,
            `the ops server cannot listen on ${host}:${port} (${cause.code ?? cause.message}); ` +
              'choose another --ops-port or --ops-host',
            { cause, context: { field: 'opsPort', host, port } },
          ),
        );
      };
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#address = this.#server.address() as AddressInfo;
    this.#logger.info({ url: this.url }, 'ops server listening');
  }

  /** Stops accepting connections, lets requests in flight finish (up to the drain timeout), closes. */
  async stop(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(
      () => this.#server.closeAllConnections(),
      this.#options.drainTimeoutMs ?? 10_000,
    );
    await closed;
    clearTimeout(timer);
    this.#logger.info('ops server stopped');
  }

  async readiness(): Promise<ReadinessReport> {
    const checks: ReadinessReport['checks'] = {};
    for (const { name, check } of this.#checks) {
      let result: boolean | string;
      try {
        result = await check();
      } catch (error) {
        result = error instanceof Error ? error.message : String(error);
      }
      checks[name] =
        result === true ? { ready: true } : { ready: false, reason: result === false ? 'not ready' : result };
    }
    const ready = this.#checks.length > 0 && Object.values(checks).every((c) => c.ready);
    return { ready, checks };
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const method = request.method ?? 'GET';
    const route = this.#routes.get(path);
    if (route !== undefined) {
      if (method !== route.method) return sendMethodNotAllowed(response, route.method);
      return route.handle(request, response);
    }

    const reads = method === 'GET' || method === 'HEAD';
    if (path === '/healthz' || path === '/readyz' || path === '/metrics') {
      if (!reads) return sendMethodNotAllowed(response, 'GET');
    }
    if (path === '/healthz') return sendJson(response, 200, { status: 'alive' });
    if (path === '/readyz') {
      const report = await this.readiness();
      return sendJson(response, report.ready ? 200 : 503, report);
    }
    if (path === '/metrics') {
      const text = await this.#options.registry.render((error) =>
        this.#logger.warn({ err: error }, 'a metrics collector failed; its metrics keep their last values'),
      );
      response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE });
      response.end(text);
      return;
    }
    const paths = ['/healthz', '/readyz', '/metrics', ...this.#routes.keys()];
    sendJson(response, 404, {
      error: { code: 'NOT_FOUND', message: `no ${path} here; try ${paths.join(', ')}` },
    });
  }

  #failed(response: ServerResponse, error: unknown): void {
    this.#logger.error({ err: error }, 'ops request failed');
    if (response.headersSent) {
      response.destroy();
      return;
    }
    sendJson(response, 500, {
      error: { code: 'INTERNAL', message: 'the request failed; see the service log' },
    });
  }
}

/** Writes `body` as a JSON response with `status`. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function sendMethodNotAllowed(response: ServerResponse, allowed: string): void {
  response.setHeader('allow', allowed === 'GET' ? 'GET, HEAD' : allowed);
  sendJson(response, 405, {
    error: { code: 'METHOD_NOT_ALLOWED', message: `use ${allowed} for this path` },
  });
}
