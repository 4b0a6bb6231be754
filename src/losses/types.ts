import * as tf from '@tensorflow/tfjs';
import type { ParamSpec, Params } from '../core/params.js';
import type { Rng } from '../core/rng.js';

export interface LossContext {
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

export type LossKernel = (
  x: Float64Array,
  n: number,
  d: number,
  labels: Int32Array,
  params: Params,
  ctx: LossContext,
) => KernelOutput;

/**
 * A loss plugin is a plain object. The core only reads these fields; it never looks at `name`
 * to decide behaviour.
 */
export interface LossPlugin {
  name: string;
  description: string;
  params: readonly ParamSpec[];
  /**
   * Present for AP surrogates: the query convention of its per-query AP estimate, so that the
   * "true AP" it is compared with uses the same one.
   */
  apConvention?: (params: Params) => { includeQuery: boolean };
  /** Embeddings B×D (used as given), labels length B; returns a differentiable scalar loss. */
  compute(embeddings: tf.Tensor2D, labels: Int32Array, params: Params, ctx: LossContext): LossOutput;
  /** Optional float64 forward+gradient; `bench loss` prefers it for exact gradients. */
  kernel?: LossKernel;
}

/**
 * Turns a fused kernel into a tfjs op with a custom gradient: the forward pass runs the kernel
 * once (value and gradient together) and the backward pass only scales the stored gradient.
 */
export function fusedCompute(kernel: LossKernel): LossPlugin['compute'] {
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
