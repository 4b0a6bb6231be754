import { matmulABt } from './matmul.js';

/** S = X·Xᵀ (n×n) for row-major X (n×d): every loss's similarity matrix s_ij = x_i·x_j. */
export function gram(x: Float64Array, n: number, d: number, out?: Float64Array): Float64Array {
  return matmulABt(x, n, x, n, d, out ?? new Float64Array(n * n), { symmetric: true });
}

/**
 * Chains a gradient G = ∂L/∂S (each s_ij treated as its own variable, s_ii included) to the
 * embeddings: ∂L/∂X = (G + Gᵀ)·X. `g` is overwritten with G + Gᵀ (it is the caller's scratch).
 */
export function gramBackward(g: Float64Array, x: Float64Array, n: number, d: number, out?: Float64Array): Float64Array {
  symmetrizeInPlace(g, n);
  return matmulABt(g, n, x, d, n, out ?? new Float64Array(n * d), { bTransposed: true });
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
