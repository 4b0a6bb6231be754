import { describe, expect, it } from 'vitest';
import { SimilarityBlocks, wasmSimdAvailable } from '../../src/metrics/wasm-gram.js';
import { gaussianData } from './oracle.js';

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
  it('stays within the error bound the exact evaluation relies on', () => {
    const n = 41,
      d = 37;
    const { x } = gaussianData(5, n, d, 2);
    const norm = (i: number) => Math.hypot(...Array.from(x.subarray(i * d, i * d + d)));
    const sb = new SimilarityBlocks(x, n, d, 8, { precision: 'f32' });
    let worstRatio = 0;
    for (let q0 = 0; q0 < n; q0 += 8) {
      const count = Math.min(8, n - q0);
      const s = sb.compute(q0, count);
      for (let r = 0; r < count; r++) {
        for (let j = 0; j < n; j++) {
          let want = 0;
          for (let t = 0; t < d; t++) want += x[(q0 + r) * d + t] * x[j * d + t];
          // γ_{d+3} ‖x_q‖‖x_j‖ with u = 2^-24 (retrieval-core.ts doubles it for safety)
          const bound = (d + 3) * 2 ** -24 * norm(q0 + r) * norm(j);
          worstRatio = Math.max(worstRatio, Math.abs(s[r * sb.stride + j] - want) / bound);
        }
      }
    }
    expect(worstRatio).toBeLessThan(1);
    // ...and float32 rounding is really there (so the test would see a wrong bound).
    expect(worstRatio).toBeGreaterThan(1e-4);
  });
});
