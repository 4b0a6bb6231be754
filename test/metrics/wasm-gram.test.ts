import { describe, expect, it } from 'vitest';
import { SimilarityBlocks, wasmSimdAvailable } from '../../src/metrics/wasm-gram.js';
import { gaussianData } from './oracle.js';
import { ExactDot } from '../../src/metrics/retrieval-core.js';

describe('SimilarityBlocks', () => {
  it('is compiled by this engine (the fast path is really in use)', () => {
    expect(wasmSimdAvailable()).toBe(true);
  });

  for (const useWasm of [true, false]) {
    it(`equals naive float64 dot products for ragged sizes (${useWasm ? 'wasm' : 'JS'} kernel)`, () => {
      // n not a multiple of 4, d not a multiple of 8, odd block sizes and a last partial block.
      const n = 13,
        d = 5;
      const { x } = gaussianData(3, n, d, 2);
      for (const block of [1, 3, 13]) {
        const sb = new SimilarityBlocks(x, n, d, block, { useWasm });
        for (let q0 = 0; q0 < n; q0 += block) {
          const count = Math.min(block, n - q0);
          const s = sb.compute(q0, count);
          for (let r = 0; r < count; r++) {
            for (let j = 0; j < n; j++) {
              let want = 0;
              for (let t = 0; t < d; t++) want += x[(q0 + r) * d + t] * x[j * d + t];
              expect(Math.abs(s[r * sb.stride + j] - want)).toBeLessThan(1e-13 * (1 + Math.abs(want)) * d);
            }
          }
        }
      }
    });
  }
});

describe('SimilarityBlocks in float32', () => {
  // The bound the exact evaluation relies on (retrieval-core.ts doubles it for safety): γ_h‖x_q‖‖x_j‖
  // with u = 2⁻²⁴ and h = 2 input roundings + 1 product + one add per product in each of the 4
  // SIMD lanes (rows padded to 8 floats) + 2 levels of pairwise lane sums.
  const depth = (d: number) => 2 + 1 + (Math.ceil(d / 8) * 8) / 4 + 2;
  function worstRatio(x: Float64Array, n: number, d: number): number {
    const norm = (i: number) => Math.hypot(...Array.from(x.subarray(i * d, i * d + d)));
    const sb = new SimilarityBlocks(x, n, d, 8, { precision: 'f32' });
    let worst = 0;
    for (let q0 = 0; q0 < n; q0 += 8) {
      const count = Math.min(8, n - q0);
      const s = sb.compute(q0, count);
      for (let r = 0; r < count; r++) {
        for (let j = 0; j < n; j++) {
          let want = 0;
          for (let t = 0; t < d; t++) want += x[(q0 + r) * d + t] * x[j * d + t];
          const h = depth(d);
          const bound = ((h * 2 ** -24) / (1 - h * 2 ** -24)) * norm(q0 + r) * norm(j);
          worst = Math.max(worst, Math.abs(s[r * sb.stride + j] - want) / bound);
        }
      }
    }
    return worst;
  }

  it('stays within the error bound the exact evaluation relies on (Gaussian rows)', () => {
    const { x } = gaussianData(5, 41, 37, 2);
    const worst = worstRatio(x, 41, 37);
    expect(worst).toBeLessThan(1);
    // ...and float32 rounding is really there (so the test would see a wrong bound).
    expect(worst).toBeGreaterThan(1e-4);
  });

  it('stays within it where rounding errors pile up (long rows of same-signed values that f32 cannot hold)', () => {
    const n = 24,
      d = 1000;
    const x = new Float64Array(n * d);
    // 1 + 2⁻²⁴·(odd) is not a float32: every input rounds, and every partial sum is large.
    for (let i = 0; i < n * d; i++) x[i] = 1 + (2 * ((i * 7919) % 1000) + 1) * 2 ** -35;
    const worst = worstRatio(x, n, d);
    expect(worst).toBeLessThan(1);
    expect(worst).toBeGreaterThan(1e-3);
  });
});

describe('exact rescoring of the float32 kernel', () => {
  it('gives bit for bit the float64 kernel’s scores (both sum even and odd terms apart)', () => {
    for (const d of [37, 64]) {
      const n = 23;
      const { x } = gaussianData(8, n, d, 2);
      const sb = new SimilarityBlocks(x, n, d, n, { precision: 'f64' });
      const s = sb.compute(0, n);
      const exact = new ExactDot(x, x, d);
      let same = 0;
      let sequentialSame = 0;
      for (let q = 0; q < n; q++) {
        exact.setQuery(q, 0);
        for (let j = 0; j < n; j++) {
          if (exact.score(j) === s[q * sb.stride + j]) same++;
          let seq = 0;
          for (let t = 0; t < d; t++) seq += x[q * d + t] * x[j * d + t];
          if (seq === s[q * sb.stride + j]) sequentialSame++;
        }
      }
      expect(same).toBe(n * n);
      // A plain sequential sum would not match everywhere (so the test can tell the orders apart).
      expect(sequentialSame).toBeLessThan(n * n);
    }
  });
});
