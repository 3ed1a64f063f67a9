/** A scorer (bahe serve) in this process on a free loopback port, with its own store and options. */
import { parseOptions } from '../../src/config/options.js';
import { silentLogger } from '../../src/log.js';
import { ServiceOps } from '../../src/ops/service-ops.js';
import { SERVE_OPTION_SPECS } from '../../src/serve/options.js';
import { type OpenedScorer, openScorer } from '../../src/serve/run.js';
import { freePort } from './net.js';

export interface RunningScorer extends OpenedScorer {
  url: string;
  stop(): Promise<void>;
}

export async function startScorer(storeDir: string, args: string[]): Promise<RunningScorer> {
  const argv = [
    '--store',
    'embedded',
    '--store-dir',
    storeDir,
    '--threads',
    '2',
    '--ops-port',
    String(await freePort()),
    ...args,
  ];
  const { options } = parseOptions(SERVE_OPTION_SPECS, argv, {});
  const ops = await ServiceOps.start(
    options,
    { service: 'serve', brokerCheckIntervalMs: 500 },
    silentLogger(),
  );
  try {
    const opened = await openScorer(options, silentLogger(), ops);
    return {
      ...opened,
      url: ops.server?.url as string,
      stop: async () => {
        await opened.close();
        await ops.stop();
      },
    };
  } catch (error) {
    await ops.stop();
    throw error;
  }
}

export interface PredictResponse {
  modelVersion: string;
  step: number;
  predictions: Array<{ itemId?: string; probability: number; logit: number }>;
}

/** POSTs `body` (an object, or raw text) to /predict; returns the status and the parsed answer. */
export async function postPredict(
  url: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{
  status: number;
  json: PredictResponse & { error?: { code: string; field?: string; message: string } };
}> {
  const response = await fetch(`${url}/predict`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as never };
}
