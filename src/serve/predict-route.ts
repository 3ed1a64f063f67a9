/** `POST /predict` over HTTP: body limits, JSON checks, scoring, and errors as 4xx/5xx JSON. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBaheError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MetricsRegistry } from '../ops/metrics.js';
import { type RouteHandler, sendJson } from '../ops/server.js';
import { invalidRequest, parsePredictRequest, type RequestLimits } from './request.js';
import type { Scorer } from './scorer.js';

export interface PredictRouteOptions extends RequestLimits {
  maxBodyBytes: number;
}

/** Candidate counts per request, for the histogram. */
const CANDIDATE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

export function predictRoute(
  scorer: Scorer,
  options: PredictRouteOptions,
  registry: MetricsRegistry,
  logger: Logger,
): RouteHandler {
  const requests = registry.counter(
    'bahe_predict_requests_total',
    'Prediction requests answered, by status.',
    ['status'],
  );
  const latency = registry.histogram('bahe_predict_latency_seconds', 'Seconds from request to response.');
  const candidates = registry.histogram(
    'bahe_predict_candidates',
    'Candidates per accepted prediction request.',
    [],
    CANDIDATE_BUCKETS,
  );
  const inFlight = registry.gauge('bahe_predict_in_flight', 'Prediction requests being answered.');
  let active = 0;
  const log = logger.child({ component: 'predict' });

  return async (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    active += 1;
    inFlight.set({}, active);
    let status = 200;
    try {
      const contentType = request.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(contentType)) {
        throw invalidRequest(
          'content-type',
          'send the body as JSON with content-type: application/json',
          415,
        );
      }
      const body = await readBody(request, options.maxBodyBytes);
      const parsed = parsePredictRequest(body, options);
      candidates.observe({}, parsed.candidates.length);
      sendJson(response, 200, await scorer.predict(parsed));
    } catch (error) {
      status = statusOf(error);
      // 503 is the scorer waiting for its first model version, which /readyz already reports.
      if (status >= 500 && status !== 503) log.error({ err: error }, 'prediction failed');
      else log.debug({ err: error }, 'prediction request refused');
      const body = isBaheError(error)
        ? { code: error.code, message: error.message, field: error.context.field }
        : { code: 'INTERNAL', message: 'the prediction failed; see the service log' };
      if (status === 413) response.setHeader('connection', 'close');
      sendJson(response, status, { error: body });
    } finally {
      active -= 1;
      inFlight.set({}, active);
      requests.inc({ status: String(status) });
      latency.observe({}, (performance.now() - started) / 1000);
    }
  };
}

function statusOf(error: unknown): number {
  if (!isBaheError(error)) return 500;
  const status = error.context.status;
  return typeof status === 'number' ? status : 500;
}

/** Bytes past the limit read and discarded so the client sees the 413; beyond this the connection is cut. */
const DRAIN_FACTOR = 8;

/**
 * The body as text. More than `maxBytes` fails with 413: the rest is read and discarded (up to
 * DRAIN_FACTOR times the limit) so that the client, still sending, can read the answer.
 */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    invalidRequest(
      'body',
      `the body is larger than the limit of ${maxBytes} bytes; send fewer candidates`,
      413,
    );
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes * DRAIN_FACTOR) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes * DRAIN_FACTOR) break;
    if (size <= maxBytes) chunks.push(chunk as Buffer);
  }
  if (size > maxBytes) throw tooLarge();
  return Buffer.concat(chunks).toString('utf8');
}
