/**
 * AdamW (Adam with decoupled weight decay, Loshchilov & Hutter 2019) over named float32 tensors.
 * The gradients come from the compiled train-step graph; this only applies the update.
 */
import { definedOnly } from '../config/options.js';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Gradients whose global L2 norm exceeds this are scaled down to it; 0 disables clipping. */
  maxGradNorm: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = {
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0.01,
  maxGradNorm: 1,
};

export interface AdamWState {
  step: number;
  firstMoment: Map<string, Float32Array>;
  secondMoment: Map<string, Float32Array>;
}

export class AdamW {
  readonly options: AdamWOptions;
  #state: AdamWState;

  constructor(
    parameters: ReadonlyMap<string, Float32Array>,
    options: Partial<AdamWOptions> = {},
    state?: AdamWState,
  ) {
    this.options = { ...ADAMW_DEFAULTS, ...definedOnly(options) };
    this.#state = state ?? {
      step: 0,
      firstMoment: zerosLike(parameters),
      secondMoment: zerosLike(parameters),
    };
    for (const [name, value] of parameters) {
      const m = this.#state.firstMoment.get(name);
      const v = this.#state.secondMoment.get(name);
      if (m?.length !== value.length || v?.length !== value.length) {
        throw new RangeError(`optimizer state for parameter ${name} does not match its size ${value.length}`);
      }
    }
  }

  get state(): AdamWState {
    return this.#state;
  }

  /**
   * Updates `parameters` in place. `learningRate(name)` gives each parameter's rate (parameter groups).
   * Returns the global gradient norm before clipping; when it is not finite, nothing is updated.
   */
  step(
    parameters: Map<string, Float32Array>,
    gradients: ReadonlyMap<string, Float32Array>,
    learningRate: (name: string) => number,
  ): number {
    const { beta1, beta2, epsilon, weightDecay, maxGradNorm } = this.options;
    const norm = globalNorm(gradients);
    if (!Number.isFinite(norm)) return norm;
    const clip = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / norm : 1;
    const step = this.#state.step + 1;
    const correction1 = 1 - beta1 ** step;
    const correction2 = 1 - beta2 ** step;

    for (const [name, value] of parameters) {
      const grad = gradients.get(name);
      if (grad === undefined) throw new RangeError(`no gradient for parameter ${name}`);
      const m = this.#state.firstMoment.get(name) as Float32Array;
      const v = this.#state.secondMoment.get(name) as Float32Array;
      const lr = learningRate(name);
      const decay = 1 - lr * weightDecay;
      for (let i = 0; i < value.length; i += 1) {
        const g = (grad[i] as number) * clip;
        const mi = beta1 * (m[i] as number) + (1 - beta1) * g;
        const vi = beta2 * (v[i] as number) + (1 - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        value[i] =
          (value[i] as number) * decay - (lr * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
      }
    }
    this.#state.step = step;
    return norm;
  }
}

function globalNorm(tensors: ReadonlyMap<string, Float32Array>): number {
  let sum = 0;
  for (const tensor of tensors.values()) {
    for (let i = 0; i < tensor.length; i += 1) sum += (tensor[i] as number) ** 2;
  }
  return Math.sqrt(sum);
}

function zerosLike(parameters: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...parameters].map(([name, value]) => [name, new Float32Array(value.length)]));
}
