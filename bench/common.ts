/** What every benchmark section shares: the machine's description, timing, and one child process per measured configuration. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

/** ONNX Runtime threads of every measurement: the 2 cores of the machines this project runs on. */
export const THREADS = 2;

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  loadAverage1m: number;
  os: string;
  node: string;
  onnxruntime: string;
  threads: number;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage1m: Number((os.loadavg()[0] ?? 0).toFixed(2)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    onnxruntime: ort.env.versions.common,
    threads: THREADS,
  };
}

/** Milliseconds that `work` took. */
export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** Items per second of `work`, best of `rounds` runs. */
export async function bestRate(rounds: number, items: number, work: () => Promise<void>): Promise<number> {
  let best = 0;
  for (let round = 0; round < rounds; round += 1)
    best = Math.max(best, (items * 1000) / (await timeMs(work)));
  return best;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Folder of the benchmark's own graphs (token-level baseline, BAHE at shorter histories). */
export function benchGraphsDir(): string {
  return process.env.BAHE_BENCH_GRAPHS ?? path.join(os.homedir(), '.cache', 'bahe', 'bench-graphs');
}

/** The command that writes the benchmark's graphs, for messages and the report. */
export const BENCH_GRAPHS_COMMAND =
  '.venv-compiler/bin/python tools/model-compiler/compile.py --bench-graphs 5,10,15,20,25 --out ~/.cache/bahe/bench-graphs';

export function benchGraphsMissing(): string | undefined {
  const manifest = path.join(benchGraphsDir(), 'bench-graphs.json');
  if (existsSync(manifest)) return undefined;
  return `${manifest} is missing: set up the model compiler (tools/model-compiler/README.md) and run ${BENCH_GRAPHS_COMMAND} (about 3 minutes), or point BAHE_BENCH_GRAPHS at such a folder`;
}

/** The flag a module's entry point is started with to run one measurement as a child process. */
export const CHILD_FLAG = '--bench-child';

/**
 * Runs `moduleUrl` (a bench module) as its own Node process with `config`, so that its peak memory
 * is its own, and returns the JSON it printed last. The child calls `childMain`.
 */
export function runChild<T>(moduleUrl: string, config: unknown): Promise<T> {
  const script = fileURLToPath(moduleUrl);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, CHILD_FLAG, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0)
        reject(new Error(`${path.basename(script)} ${JSON.stringify(config)} exited with ${code}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}

/** In a child started by `runChild`: runs `work` on its config and prints the result as one JSON line. */
export async function childMain<C, R>(work: (config: C) => Promise<R>): Promise<boolean> {
  const index = process.argv.indexOf(CHILD_FLAG);
  if (index < 0) return false;
  const result = await work(JSON.parse(process.argv[index + 1] ?? '{}') as C);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return true;
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
