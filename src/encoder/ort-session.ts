import { createRequire } from 'node:module';
import path from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { BaheError, ErrorCode } from '../errors.js';

/** Execution providers the service knows how to request. */
export type ExecutionProvider = 'cpu' | 'cuda';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  /** Providers in order of preference; ONNX Runtime places on CPU only the nodes a GPU provider cannot run. */
  executionProviders?: readonly ExecutionProvider[];
  /** Threads one operator may use; 0 lets ONNX Runtime choose (one per physical core). */
  intraOpThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** The GPU the CUDA provider uses. */
  cudaDeviceId?: number;
}

export const SESSION_DEFAULTS: Required<SessionOptions> = {
  executionProviders: ['cpu'],
  intraOpThreads: 0,
  graphOptimizationLevel: 'all',
  cudaDeviceId: 0,
};

const PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda'];
const OPTIMIZATION_LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

/** Fills defaults (an undefined value keeps the default) and fails fast on a bad value, naming the field. */
export function resolveSessionOptions(options: SessionOptions = {}): Required<SessionOptions> {
  const resolved = {
    executionProviders: options.executionProviders ?? SESSION_DEFAULTS.executionProviders,
    intraOpThreads: options.intraOpThreads ?? SESSION_DEFAULTS.intraOpThreads,
    graphOptimizationLevel: options.graphOptimizationLevel ?? SESSION_DEFAULTS.graphOptimizationLevel,
    cudaDeviceId: options.cudaDeviceId ?? SESSION_DEFAULTS.cudaDeviceId,
  };
  const providers = resolved.executionProviders;
  if (!Array.isArray(providers) || providers.length === 0 || !providers.every((p) => PROVIDERS.includes(p))) {
    invalid('executionProviders', `a non-empty list of ${PROVIDERS.join(', ')}`, providers);
  }
  if (new Set(providers).size !== providers.length)
    invalid('executionProviders', 'a list without repeats', providers);
  if (!OPTIMIZATION_LEVELS.includes(resolved.graphOptimizationLevel)) {
    invalid(
      'graphOptimizationLevel',
      `one of ${OPTIMIZATION_LEVELS.join(', ')}`,
      resolved.graphOptimizationLevel,
    );
  }
  if (
    !Number.isInteger(resolved.intraOpThreads) ||
    resolved.intraOpThreads < 0 ||
    resolved.intraOpThreads > 1024
  ) {
    invalid('intraOpThreads', 'an integer in [0, 1024]', resolved.intraOpThreads);
  }
  if (!Number.isInteger(resolved.cudaDeviceId) || resolved.cudaDeviceId < 0 || resolved.cudaDeviceId > 1024) {
    invalid('cudaDeviceId', 'an integer in [0, 1024]', resolved.cudaDeviceId);
  }
  return resolved;
}

/**
 * Opens an ONNX graph. A requested GPU provider that cannot load is an error, never a quiet move to
 * CPU; a file ONNX Runtime cannot read is reported as an invalid model.
 */
export async function openSession(file: string, options: SessionOptions = {}): Promise<InferenceSession> {
  const resolved = resolveSessionOptions(options);
  const executionProviders = resolved.executionProviders.map((name) =>
    name === 'cuda' ? { name: 'cuda' as const, deviceId: resolved.cudaDeviceId } : name,
  );
  try {
    return await InferenceSession.create(file, {
      executionProviders,
      intraOpNumThreads: resolved.intraOpThreads,
      graphOptimizationLevel: resolved.graphOptimizationLevel,
    });
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    if (resolved.executionProviders.includes('cuda') && /AppendExecutionProvider_Cuda|CUDA/i.test(message)) {
      throw new BaheError(ErrorCode.PROVIDER_UNAVAILABLE, cudaHelp(message), {
        cause,
        context: { path: file, field: 'executionProviders' },
      });
    }
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `ONNX Runtime cannot load ${file} (${message}); the file is corrupt or not an ONNX graph, ` +
        're-run the model compiler or restore the file',
      { cause, context: { path: file } },
    );
  }
}

function cudaHelp(message: string): string {
  return (
    `the CUDA execution provider was requested but could not be loaded (${message}). ` +
    `onnxruntime-node ships without its CUDA provider libraries: put libonnxruntime_providers_shared.so and ` +
    `libonnxruntime_providers_cuda.so of the same ONNX Runtime version into ${bindingDir()}, and make the ` +
    'CUDA 12 and cuDNN 9 runtime libraries findable (LD_LIBRARY_PATH); see the README section "GPU". ' +
    'Or run on CPU: --provider cpu (BAHE_PROVIDER=cpu).'
  );
}

/** The folder holding onnxruntime-node's native binding, where ONNX Runtime looks for provider libraries. */
function bindingDir(): string {
  try {
    const packageJson = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return path.join(path.dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return 'node_modules/onnxruntime-node/bin/napi-v6/<platform>/<arch>';
  }
}

function invalid(field: string, accepted: string, got: unknown): never {
  throw new BaheError(ErrorCode.CONFIG_INVALID, `${field} must be ${accepted}, got ${JSON.stringify(got)}`, {
    context: { field },
  });
}
