import { matmulABt } from './matmul.js';
import { SCRATCH, scratchF64 } from './scratch.js';

/** How a kernel's two products are computed: see MatmulOptions.float32. */
export interface GramOptions {
  float32?: boolean;
}

/**
 * S = X·Xᵀ (n×n) for row-major X (n×d): every loss's similarity matrix s_ij = x_i·x_j.
 * `scratch`: write S into the kernels' reused scratch slot (see scratch.ts) instead of a fresh
 * array; for a kernel that consumes S before it returns.
 */
export function gram(x: Float64Array, n: number, d: number, opts: GramOptions & { scratch?: boolean } = {}): Float64Array {
  const out = opts.scratch ? scratchF64(SCRATCH.gram, n * n) : new Float64Array(n * n);
  return matmulABt(x, n, x, n, d, out, { symmetric: true, float32: opts.float32 ?? false });
}

/**
 * Chains a gradient G = ∂L/∂S (each s_ij treated as its own variable, s_ii included) to the
 * embeddings: ∂L/∂X = (G + Gᵀ)·X, written into `out` when given (a kernel's ctx.gradOut).
 * `g` is overwritten with G + Gᵀ (it is the caller's scratch) when the dense product is used.
 *
 * A loss whose G is mostly zero (Blackbox-AP: only pairs whose rank moves, ~1% of a batch of
 * 224, 0.1% at 1024) gets the sparse product instead, 2·D multiply-adds per non-zero entry
 * against B·D per row for the dense one; counting the non-zeros is one pass over G.
 */
export function gramBackward(g: Float64Array, x: Float64Array, n: number, d: number, opts: GramOptions & { out?: Float64Array } = {}): Float64Array {
  const res = opts.out ? opts.out.subarray(0, n * d) : new Float64Array(n * d);
  if (countNonZero(g, n * n, SPARSE_MAX_SHARE * n * n) <= SPARSE_MAX_SHARE * n * n) return sparseGramBackward(g, x, n, d, res);
  symmetrizeInPlace(g, n);
  return matmulABt(g, n, x, d, n, res, { bTransposed: true, float32: opts.float32 ?? false });
}

/**
 * Share of non-zero entries of G up to which the sparse product is used: it runs at about a
 * fifth of the SIMD kernel's rate per multiply-add and does each entry twice (row and column).
 */
const SPARSE_MAX_SHARE = 1 / 16;

/** Non-zeros among the first `len` entries, stopping once past `limit`. */
function countNonZero(g: Float64Array, len: number, limit: number): number {
  let nz = 0;
  for (let i = 0; i < len; i++) {
    if (g[i] !== 0) {
      nz++;
      if (nz > limit) return nz;
    }
  }
  return nz;
}

/** out = (G + Gᵀ)·X from G's non-zero entries: row i gets G_ij·x_j, row j gets G_ij·x_i. */
function sparseGramBackward(g: Float64Array, x: Float64Array, n: number, d: number, out: Float64Array): Float64Array {
  out.fill(0, 0, n * d);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const oi = i * d;
    for (let j = 0; j < n; j++) {
      const v = g[row + j]!;
      if (v === 0) continue;
      const oj = j * d;
      for (let k = 0; k < d; k++) {
        out[oi + k]! += v * x[oj + k]!;
        out[oj + k]! += v * x[oi + k]!;
      }
    }
  }
  return out;
}

/** G ← G + Gᵀ, in cache-sized tiles (a naive column walk strides by a full row per element). */
export function symmetrizeInPlace(g: Float64Array, n: number): void {
  const T = 32;
  for (let ib = 0; ib < n; ib += T) {
    const iEnd = Math.min(n, ib + T);
    for (let jb = ib; jb < n; jb += T) {
      const jEnd = Math.min(n, jb + T);
      for (let i = ib; i < iEnd; i++) {
        const row = i * n;
        for (let j = jb === ib ? i : jb; j < jEnd; j++) {
          const v = g[row + j]! + g[j * n + i]!;
          g[row + j] = v;
          g[j * n + i] = v;
        }
      }
    }
  }
}
