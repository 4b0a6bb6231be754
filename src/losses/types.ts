import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors.js';
import type { ParamSpec, Params } from '../core/params.js';
import type { Rng } from '../core/rng.js';

/** What a float64 kernel receives besides its inputs. */
export interface KernelContext {
  /** The run's seeded generator, for losses with randomness (e.g. Blackbox-AP's margin noise). */
  rng: Rng;
  /**
   * Precision of a fused kernel's two B×B×D products (S = X·Xᵀ and the gradient's (G+Gᵀ)·X):
   * 'float64' (the default: exact, for `bench loss` and the parity tests) or 'float32' (about
   * twice as fast; what training uses, its embeddings being float32 already).
   */
  precision?: 'float64' | 'float32';
  /**
   * Where a fused kernel may write its gradient (at least B×D entries) instead of a fresh
   * array: the caller reuses it from call to call and reads it before the next one. A fresh
   * multi-megabyte array costs a page fault per 4 KB on its first write (about 1 ms of a 3 ms
   * loss at B = 224 on this project's VM), so training passes one.
   */
  gradOut?: Float64Array;
}

/** What a loss's `compute` receives besides its inputs. */
export interface LossContext extends KernelContext {
  /**
   * The tfjs module rankbench runs on, with its backend already selected. A plugin builds its
   * tensors with it instead of importing `@tensorflow/tfjs` itself: a plugin file then works
   * from any folder with nothing else installed, and tfjs is never loaded (and its kernels
   * registered) twice.
   */
  tf: typeof tf;
}

export interface LossOutput {
  loss: tf.Scalar;
  /** Per-query AP estimate for AP surrogates; NaN for queries that were skipped (no positive). */
  apPerQuery?: Float64Array;
}

/** A fused float64 kernel: loss value and its analytic gradient w.r.t. the B×D embeddings. */
export interface KernelOutput {
  loss: number;
  grad: Float64Array;
  apPerQuery?: Float64Array;
}

/** x is B×D row-major (n = B rows of d values); labels has length B. */
export type LossKernel<P = Params> = (x: Float64Array, n: number, d: number, labels: Int32Array, params: P, ctx: KernelContext) => KernelOutput;

/** Embeddings B×D (used as given), labels length B; returns a differentiable scalar loss. */
export type LossCompute<P = Params> = (embeddings: tf.Tensor2D, labels: Int32Array, params: P, ctx: LossContext) => LossOutput;

/**
 * A loss plugin is a plain object. The core only reads these fields; it never looks at `name`
 * to decide behaviour. `P` is the type of its resolved parameters (every spec's value, defaults
 * filled); `defineLoss` infers it from `params`.
 */
export interface LossPlugin<P = Params> {
  name: string;
  description: string;
  params: readonly ParamSpec[];
  /**
   * Present for AP surrogates: the query convention of its per-query AP estimate, so that the
   * "true AP" it is compared with uses the same one.
   */
  apConvention?(params: P): { includeQuery: boolean };
  /** Embeddings B×D (used as given), labels length B; returns a differentiable scalar loss. */
  compute(embeddings: tf.Tensor2D, labels: Int32Array, params: P, ctx: LossContext): LossOutput;
  /** Optional float64 forward+gradient; `bench loss` prefers it for exact gradients. */
  kernel?(x: Float64Array, n: number, d: number, labels: Int32Array, params: P, ctx: KernelContext): KernelOutput;
}

// Parameter specs in the shapes `defineLoss` reads types from. Each is a `ParamSpec`
// (src/core/params.ts) narrowed to one `type`, so a default of the wrong type, or an enum
// without its values, is a type error in the plugin's own file.

interface ParamSpecBase {
  name: string;
  /** One line for `bench list` and error messages. */
  doc: string;
}

export interface NumberParamSpec extends ParamSpecBase {
  type: 'number' | 'integer';
  default: number;
  min?: number;
  max?: number;
  /** When true, `min` itself is not allowed (e.g. tau > 0). */
  minExclusive?: boolean;
}

export interface BooleanParamSpec extends ParamSpecBase {
  type: 'boolean';
  default: boolean;
}

export interface EnumParamSpec<V extends string = string> extends ParamSpecBase {
  type: 'enum';
  values: readonly V[];
  default: V;
}

export interface StringParamSpec extends ParamSpecBase {
  type: 'string';
  default: string;
}

/** Any one loss parameter's spec. */
export type ParamSpecOf = NumberParamSpec | BooleanParamSpec | EnumParamSpec | StringParamSpec;

/** The value type a spec gives its parameter: number, boolean, the enum's union of strings, string. */
export type ParamValueOf<S> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'number' | 'integer' }
    ? number
    : S extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : string;

/** The resolved parameters of a list of specs, e.g. `{ readonly tau: number; readonly includeQuery: boolean }`. */
export type ParamsOf<S extends readonly ParamSpecOf[]> = {
  readonly [K in S[number] as K['name']]: ParamValueOf<K>;
};

/**
 * What `defineLoss` takes: a loss plugin whose `params` list decides the type of `params` in
 * its functions. Give `compute` (tfjs ops, differentiated by tfjs), or a float64 `kernel` with
 * its own gradient (then `compute` defaults to `fusedCompute(kernel)`), or both.
 */
export interface LossDefinition<S extends readonly ParamSpecOf[]> {
  name: string;
  description: string;
  params: S;
  apConvention?(params: ParamsOf<S>): { includeQuery: boolean };
  compute?(embeddings: tf.Tensor2D, labels: Int32Array, params: ParamsOf<S>, ctx: LossContext): LossOutput;
  kernel?(x: Float64Array, n: number, d: number, labels: Int32Array, params: ParamsOf<S>, ctx: KernelContext): KernelOutput;
}

/**
 * Declares a loss plugin with typed parameters: from `params: [{ name: 'tau', type: 'number',
 * ... }]` its functions see `params.tau` as a `number` (an enum as the union of its values, a
 * boolean as `boolean`) with no cast. Returns the plugin object itself, `compute` filled in from
 * `kernel` when absent; it is checked in full when registered (`--plugin`, or the built-ins).
 * The types come from the literal `params` array: write it inline (or `as const`); a list typed
 * as `ParamSpecOf[]` elsewhere has lost its names.
 */
export function defineLoss<const S extends readonly ParamSpecOf[]>(def: LossDefinition<S>): LossPlugin<ParamsOf<S>> & { params: S } {
  if (def.compute) return def as LossPlugin<ParamsOf<S>> & { params: S };
  if (!def.kernel) throw new UserError(`defineLoss(${JSON.stringify(def.name)}): give "compute" (tfjs ops) or "kernel" (float64 with its gradient)`);
  return { ...def, compute: fusedCompute(def.kernel.bind(def)) };
}

/**
 * Turns a fused kernel into a tfjs op with a custom gradient: the forward pass runs the kernel
 * once (value and gradient together) and the backward pass only scales the stored gradient.
 */
export function fusedCompute<P>(kernel: LossKernel<P>): LossCompute<P> {
  // The kernel's input and gradient buffers, reused while the batch shape stays the same (the
  // gradient is copied out to float32 before the next call).
  let xBuf = new Float64Array(0);
  let gradBuf = new Float64Array(0);
  return (embeddings, labels, params, ctx) => {
    let apPerQuery: Float64Array | undefined;
    const op = tf.customGrad(((x: tf.Tensor) => {
      const [n, d] = x.shape as [number, number];
      if (xBuf.length !== n * d) {
        xBuf = new Float64Array(n * d);
        gradBuf = new Float64Array(n * d);
      }
      xBuf.set(x.dataSync());
      // Training's tensors are float32: its products need no more (the loss terms stay float64).
      const out = kernel(xBuf, n, d, labels, params, { ...ctx, precision: ctx.precision ?? 'float32', gradOut: ctx.gradOut ?? gradBuf });
      apPerQuery = out.apPerQuery;
      const grad = Float32Array.from(out.grad);
      return {
        value: tf.scalar(out.loss),
        gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.tensor2d(grad, [n, d])),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const loss = op(embeddings) as tf.Scalar;
    return { loss, apPerQuery };
  };
}
