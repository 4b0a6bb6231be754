import { describe, expect, it } from 'vitest';
import { packRowsShared, packTransposedShared } from '../../src/kernels/pack.js';
import { sharedPackFns } from './pack-fns.js';

// The float32 panel layout: (row, t) of panel ⌊row/pr⌋ at base + panel·pr·kp + ((t>>2)·pr + row%pr)·4 + (t&3).
function naivePack(src: Float64Array, rows: number, k: number, kp: number, pr: number): Float32Array {
  const out = new Float32Array(Math.ceil(rows / pr) * pr * kp);
  for (let row = 0; row < rows; row++)
    for (let t = 0; t < k; t++) out[Math.floor(row / pr) * pr * kp + ((t >> 2) * pr + (row % pr)) * 4 + (t & 3)] = src[row * k + t]!;
  return out;
}

/** Values whose float32 rounding is not exact (and some ties), so a wrong rounding shows. */
function values(len: number, seed: number): Float64Array {
  return Float64Array.from({ length: len }, (_, i) => Math.sin(seed * 7919 + i * 1.618) * (1 + 2 ** -30) + (i % 5 === 0 ? 2 ** -25 : 0));
}

describe('wasm float32 packing from the shared memory', () => {
  const { fns, f32, f64 } = sharedPackFns();
  const shapes = [
    [1, 1],
    [2, 4],
    [5, 7],
    [6, 8],
    [11, 13],
    [9, 2],
    [16, 33],
  ] as const;

  it('rows: each row rounded to float32 in its panel, exactly the naive layout (odd k, padding rows, stale memory)', () => {
    for (const pr of [2, 4]) {
      for (const [rows, k] of shapes) {
        const kp = Math.ceil(k / 4) * 4;
        const src = values(rows * k, rows + k);
        const srcAt = 20_001; // f64 element: an odd one, so rows start off 16-byte boundaries too
        const base = 8;
        f32.fill(NaN, 0, 40_000);
        f64.set(src, srcAt);
        packRowsShared(fns, f32, base, f64, srcAt, rows, k, kp, pr);
        const want = naivePack(src, rows, k, kp, pr);
        expect([...f32.subarray(base, base + want.length)]).toEqual([...want]);
        expect(Number.isNaN(f32[base - 1]!) && Number.isNaN(f32[base + want.length]!)).toBe(true);
      }
    }
  });

  it('transposed: the columns of a k×rows source as rows, whole or by ranges of quads of t, exactly the naive layout', () => {
    for (const pr of [2, 4]) {
      for (const [rows, k] of shapes) {
        const kp = Math.ceil(k / 4) * 4;
        const src = values(rows * k, 3 * rows + k);
        const transposed = new Float64Array(rows * k);
        for (let r = 0; r < rows; r++) for (let t = 0; t < k; t++) transposed[t * rows + r] = src[r * k + t]!;
        const srcAt = 20_000;
        const base = 12;
        const want = naivePack(src, rows, k, kp, pr);
        for (const split of [kp / 4, 1, 2]) {
          f32.fill(NaN, 0, 40_000);
          f64.set(transposed, srcAt);
          for (let q0 = 0; q0 < kp / 4; q0 += split) packTransposedShared(fns, f32, base, f64, srcAt, rows, k, kp, pr, q0, Math.min(kp / 4, q0 + split));
          expect([...f32.subarray(base, base + want.length)]).toEqual([...want]);
          expect(Number.isNaN(f32[base - 1]!) && Number.isNaN(f32[base + want.length]!)).toBe(true);
        }
      }
    }
  });
});
