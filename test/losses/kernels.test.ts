import { describe, expect, it } from 'vitest';
import { matmulABt, matmulParallelism, simdMatmulAvailable } from '../../src/losses/kernels/matmul.js';
import { threadCount } from '../../src/kernels/pool.js';
import { packPanels, packRows32, packTransposed32 } from '../../src/kernels/pack.js';
import { gram, gramBackward, symmetrizeInPlace } from '../../src/losses/kernels/gram.js';
import { checkBatch, groupLabels, meanValid } from '../../src/losses/kernels/batch.js';
import { lowerBound, upperBound } from '../../src/losses/kernels/ranks.js';
import { UserError } from '../../src/core/errors.js';
import { maxAbsDiff, randomMatrix } from './oracles.js';
import { sharedPackFns } from '../kernels/pack-fns.js';

function naiveABt(a: Float64Array, m: number, b: Float64Array, n: number, k: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t]! * b[j * k + t]!;
      c[i * n + j] = s;
    }
  }
  return c;
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

// Odd shapes exercise every padding path (rows not a multiple of the 4×2 tile, odd k, k > one block).
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [9, 2, 1],
  [37, 29, 515],
  [70, 66, 64],
];

describe('matmulABt', () => {
  it('uses the wasm SIMD kernel on this runtime', () => {
    expect(simdMatmulAvailable()).toBe(true);
  });

  for (const noSimd of [false, true]) {
    const path = noSimd ? 'plain JS' : 'SIMD';
    it(`${path}: equals a naive triple loop on odd shapes`, () => {
      for (const [m, n, k] of SHAPES) {
        const a = randomMatrix(m * k, m + 1);
        const b = randomMatrix(n * k, n + 2);
        const got = matmulABt(a, m, b, n, k, undefined, { noSimd });
        expect(maxAbsDiff(got, naiveABt(a, m, b, n, k))).toBeLessThan(1e-12 * k);
      }
    });

    it(`${path}: B given transposed`, () => {
      for (const [m, n, k] of SHAPES) {
        const a = randomMatrix(m * k, 3 * m);
        const b = randomMatrix(n * k, 5 * n);
        const got = matmulABt(a, m, transpose(b, n, k), n, k, undefined, { bTransposed: true, noSimd });
        expect(maxAbsDiff(got, naiveABt(a, m, b, n, k))).toBeLessThan(1e-12 * k);
      }
    });

    it(`${path}: symmetric product X·Xᵀ fills both triangles`, () => {
      for (const [n, k] of [
        [1, 3],
        [7, 5],
        [45, 300],
        [66, 20],
      ] as const) {
        const x = randomMatrix(n * k, n * 7 + k);
        const got = matmulABt(x, n, x, n, k, new Float64Array(n * n).fill(NaN), { symmetric: true, noSimd });
        expect(maxAbsDiff(got, naiveABt(x, n, x, n, k))).toBeLessThan(1e-12 * k);
      }
    });
  }

  it('large products split over worker threads equal the naive loop', async () => {
    // Big enough to be shared (≥ 4M multiply-adds); the first call starts the workers.
    const [m, n, k] = [203, 161, 301];
    const a = randomMatrix(m * k, 1);
    const b = randomMatrix(n * k, 2);
    const want = naiveABt(a, m, b, n, k);
    expect(maxAbsDiff(matmulABt(a, m, b, n, k), want)).toBeLessThan(1e-12 * k);
    const deadline = Date.now() + 20_000;
    while (matmulParallelism() < threadCount() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(matmulParallelism()).toBe(threadCount());
    expect(maxAbsDiff(matmulABt(a, m, b, n, k), want)).toBeLessThan(1e-12 * k);
    expect(maxAbsDiff(matmulABt(a, m, transpose(b, n, k), n, k, undefined, { bTransposed: true }), want)).toBeLessThan(1e-12 * k);
    const sym = matmulABt(a, m, a, m, k, undefined, { symmetric: true });
    expect(maxAbsDiff(sym, naiveABt(a, m, a, m, k))).toBeLessThan(1e-12 * k);
  });

  it('back-to-back shared products of changing shapes each equal the naive loop (blocks claimed per job)', async () => {
    // Jobs of different block counts in quick succession: a worker that wakes late for one job must
    // neither take blocks of the next with stale parameters nor leave any block undone.
    const shapes: [number, number, number][] = [
      [160, 130, 300],
      [97, 250, 210],
      [211, 64, 333],
    ];
    const cases = shapes.map(([m, n, k], i) => {
      const a = randomMatrix(m * k, 10 + i);
      const b = randomMatrix(n * k, 20 + i);
      return { m, n, k, a, b, want: naiveABt(a, m, b, n, k), sym: naiveABt(a, m, a, m, k) };
    });
    matmulABt(cases[0]!.a, cases[0]!.m, cases[0]!.b, cases[0]!.n, cases[0]!.k);
    const deadline = Date.now() + 20_000;
    while (matmulParallelism() < threadCount() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    let worst = 0;
    for (let rep = 0; rep < 12; rep++) {
      for (const { m, n, k, a, b, want, sym } of cases) {
        const out = new Float64Array(m * n).fill(NaN);
        matmulABt(a, m, b, n, k, out);
        if (!out.every(Number.isFinite)) worst = Infinity;
        worst = Math.max(worst, maxAbsDiff(out, want) / k);
        worst = Math.max(worst, maxAbsDiff(matmulABt(a, m, a, m, k, undefined, { symmetric: true }), sym) / k);
      }
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('overwrites stale contents of a reused output (first k block stores, later ones add)', () => {
    const [m, n, k] = [8, 6, 600];
    const a = randomMatrix(m * k, 1);
    const b = randomMatrix(n * k, 2);
    const out = new Float64Array(m * n).fill(1e6);
    matmulABt(a, m, b, n, k, out);
    matmulABt(a, m, b, n, k, out);
    expect(maxAbsDiff(out, naiveABt(a, m, b, n, k))).toBeLessThan(1e-9);
  });
});

describe('matmulABt in float32', () => {
  // Each entry is a float32 dot product of float32-rounded operands: error ≲ k·2⁻²⁴·Σ|a||b|.
  const tol = (a: Float64Array, b: Float64Array, k: number): number => 4 * k * 6e-8 * Math.max(...a.map(Math.abs)) * Math.max(...b.map(Math.abs)) * k;
  it('equals the naive float64 loop to float32 rounding (odd shapes, transposed B, symmetric, shared over threads)', () => {
    for (const [m, n, k] of [...SHAPES, [203, 161, 301], [6, 5, 6]] as [number, number, number][]) {
      const a = randomMatrix(m * k, m + 7);
      const b = randomMatrix(n * k, n + 9);
      const want = naiveABt(a, m, b, n, k);
      const plain = matmulABt(a, m, b, n, k, new Float64Array(m * n).fill(NaN), { float32: true });
      expect(maxAbsDiff(plain, want)).toBeLessThan(tol(a, b, k));
      expect(maxAbsDiff(plain, want)).toBeGreaterThan(0);
      const tr = matmulABt(a, m, transpose(b, n, k), n, k, new Float64Array(m * n).fill(NaN), { float32: true, bTransposed: true });
      expect(maxAbsDiff(tr, want)).toBeLessThan(tol(a, b, k));
      const sym = matmulABt(a, m, a, m, k, new Float64Array(m * m).fill(NaN), { float32: true, symmetric: true });
      expect(maxAbsDiff(sym, naiveABt(a, m, a, m, k))).toBeLessThan(tol(a, a, k));
    }
  });

  it('float64 products of the same operands are unchanged by a float32 product in between', () => {
    const [m, n, k] = [37, 29, 515];
    const a = randomMatrix(m * k, 1);
    const b = randomMatrix(n * k, 2);
    const first = matmulABt(a, m, b, n, k);
    matmulABt(a, m, b, n, k, undefined, { float32: true });
    expect([...matmulABt(a, m, b, n, k)]).toEqual([...first]);
  });
});

describe('packPanels', () => {
  // The panel layout spelled out element by element: (row, t) of panel ⌊row/pr⌋ at
  // base + panel·pr·kp + ((t>>1)·pr + row%pr)·2 + (t&1), zero for padded rows and t ≥ k.
  function naivePack(src: Float64Array, rows: number, k: number, kp: number, pr: number, transposed: boolean): Float64Array {
    const out = new Float64Array(Math.ceil(rows / pr) * pr * kp);
    for (let row = 0; row < Math.ceil(rows / pr) * pr; row++) {
      for (let t = 0; t < kp; t++) {
        const v = row < rows && t < k ? src[transposed ? t * rows + row : row * k + t]! : 0;
        out[Math.floor(row / pr) * pr * kp + ((t >> 1) * pr + (row % pr)) * 2 + (t & 1)] = v;
      }
    }
    return out;
  }

  it('the wasm moves write exactly the naive layout (both orientations, odd rows and k, stale memory)', () => {
    const { fns, f64: f } = sharedPackFns();
    for (const pr of [2, 4, 3]) {
      for (const [rows, k] of [
        [1, 1],
        [2, 2],
        [5, 7],
        [6, 4],
        [11, 13],
        [9, 1],
        [4, 20],
      ] as const) {
        for (const transposed of [false, true]) {
          const kp = Math.ceil(k / 2) * 2;
          const src = randomMatrix(rows * k, rows * 31 + k);
          const base = 6;
          const stage = 4000;
          f.fill(NaN);
          f.set(src, stage);
          packPanels(fns, f, base, stage, rows, k, kp, pr, transposed);
          const want = naivePack(src, rows, k, kp, pr, transposed);
          expect([...f.subarray(base, base + want.length)]).toEqual([...want]);
          expect(Number.isNaN(f[base - 1]!) && Number.isNaN(f[base + want.length]!)).toBe(true);
        }
      }
    }
  });

  it('float32 panels: the row and the transposed pack write exactly the naive layout', () => {
    // (row, t) of panel ⌊row/pr⌋ at base + panel·pr·kp + ((t>>2)·pr + row%pr)·4 + (t&3), zero-padded.
    const f = new Float32Array(16_000);
    for (const pr of [2, 4]) {
      for (const [rows, k] of [
        [1, 1],
        [2, 4],
        [5, 7],
        [6, 8],
        [11, 13],
        [9, 2],
      ] as const) {
        const kp = Math.ceil(k / 4) * 4;
        const src = randomMatrix(rows * k, rows * 17 + k);
        const want = new Float32Array(Math.ceil(rows / pr) * pr * kp);
        for (let row = 0; row < rows; row++)
          for (let t = 0; t < k; t++) want[Math.floor(row / pr) * pr * kp + ((t >> 2) * pr + (row % pr)) * 4 + (t & 3)] = src[row * k + t]!;
        const base = 8;
        f.fill(NaN);
        packRows32(f, base, src, rows, k, kp, pr);
        expect([...f.subarray(base, base + want.length)]).toEqual([...want]);
        expect(Number.isNaN(f[base + want.length]!)).toBe(true);
        f.fill(NaN);
        packTransposed32(f, base, transpose(src, rows, k), rows, k, kp, pr);
        expect([...f.subarray(base, base + want.length)]).toEqual([...want]);
        expect(Number.isNaN(f[base - 1]!) && Number.isNaN(f[base + want.length]!)).toBe(true);
      }
    }
  });

  it('matmulABt with A and B the same array but different row counts equals the naive loop', () => {
    const k = 9;
    const x = randomMatrix(11 * k, 5);
    for (const [m, n] of [
      [11, 6],
      [6, 11],
    ] as const) {
      expect(maxAbsDiff(matmulABt(x, m, x, n, k), naiveABt(x, m, x, n, k))).toBeLessThan(1e-12 * k);
    }
  });
});

describe('gram and its backward', () => {
  it('gram(X) = X·Xᵀ and gramBackward(G) = (G + Gᵀ)·X', () => {
    const [n, d] = [13, 9];
    const x = randomMatrix(n * d, 11);
    expect(maxAbsDiff(gram(x, n, d), naiveABt(x, n, x, n, d))).toBeLessThan(1e-13);
    const g = randomMatrix(n * n, 12);
    const want = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < d; k++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += (g[i * n + j]! + g[j * n + i]!) * x[j * d + k]!;
        want[i * d + k] = s;
      }
    }
    expect(maxAbsDiff(gramBackward(Float64Array.from(g), x, n, d), want)).toBeLessThan(1e-13);
  });

  it('gramBackward of a mostly-zero G (the sparse path) equals (G + Gᵀ)·X, in both precisions', () => {
    const [n, d] = [64, 33];
    const x = randomMatrix(n * d, 21);
    const g = new Float64Array(n * n);
    const dense = randomMatrix(n * n, 22);
    // 1 in 32 entries non-zero, some on the diagonal: below the sparse path's threshold.
    for (let i = 0; i < n * n; i += 32) g[i] = dense[i]!;
    const want = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) for (let j = 0; j < n; j++) want[i * d + k] += (g[i * n + j]! + g[j * n + i]!) * x[j * d + k]!;
    expect(maxAbsDiff(gramBackward(Float64Array.from(g), x, n, d), want)).toBeLessThan(1e-13);
    expect(maxAbsDiff(gramBackward(Float64Array.from(g), x, n, d, { float32: true }), want)).toBeLessThan(1e-13);
    // Dense G in float32: the product's rounding only.
    const wantDense = new Float64Array(n * d);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < d; k++) for (let j = 0; j < n; j++) wantDense[i * d + k] += (dense[i * n + j]! + dense[j * n + i]!) * x[j * d + k]!;
    const got = gramBackward(Float64Array.from(dense), x, n, d, { float32: true });
    expect(maxAbsDiff(got, wantDense)).toBeLessThan(1e-4);
    expect(maxAbsDiff(got, wantDense)).toBeGreaterThan(0);
  });

  it('symmetrizeInPlace crosses tile borders correctly', () => {
    const n = 70;
    const g = randomMatrix(n * n, 4);
    const want = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) want[i * n + j] = g[i * n + j]! + g[j * n + i]!;
    symmetrizeInPlace(g, n);
    expect(maxAbsDiff(g, want)).toBe(0);
  });
});

describe('batch helpers', () => {
  it('groups labels of any order and count by class, in order of first appearance', () => {
    const labels = Int32Array.from([7, -2, 7, 5, -2, 7]);
    const g = groupLabels(labels);
    expect(g.numClasses).toBe(3);
    expect([...g.classOf]).toEqual([0, 1, 0, 2, 1, 0]);
    expect([...g.start]).toEqual([0, 3, 5, 6]);
    expect([...g.members]).toEqual([0, 2, 5, 1, 4, 3]);
    expect(g.maxClassSize).toBe(3);
  });

  it('rejects mismatched shapes with a one-line UserError', () => {
    const x = new Float64Array(6);
    expect(() => checkBatch('smooth-ap', x, 3, 2, new Int32Array(2))).toThrow(/2 labels for 3 embeddings/);
    expect(() => checkBatch('smooth-ap', x, 2, 2, new Int32Array(2))).toThrow(UserError);
    expect(() => checkBatch('smooth-ap', x, 0, 6, new Int32Array(0))).toThrow(/at least one row/);
  });

  it('meanValid skips NaN entries', () => {
    expect(meanValid(Float64Array.from([1, NaN, 2]))).toBe(1.5);
    expect(meanValid(Float64Array.from([NaN]))).toBeNaN();
  });

  it('lowerBound / upperBound count entries < v and <= v, ties included, within the given length', () => {
    const s = Float64Array.from([-1, 0, 0, 0.5, 2, 99]);
    const vs = [-2, -1, 0, 0.1, 0.5, 2, 3];
    expect(vs.map((v) => lowerBound(s, 5, v))).toEqual([0, 0, 1, 3, 3, 4, 5]);
    expect(vs.map((v) => upperBound(s, 5, v))).toEqual([0, 1, 3, 3, 4, 5, 5]);
  });
});

describe('kernels with a caller-supplied gradient buffer (ctx.gradOut, as training passes)', () => {
  it('each built-in kernel writes exactly its fresh gradient into the buffer and returns that memory, across calls', async () => {
    const { Rng } = await import('../../src/core/rng.js');
    const { smoothApKernel } = await import('../../src/losses/smooth-ap.js');
    const { tripletKernel } = await import('../../src/losses/triplet.js');
    const { fastApKernel } = await import('../../src/losses/fast-ap.js');
    const { blackboxApKernel } = await import('../../src/losses/blackbox-ap.js');
    const [n, d] = [24, 10];
    const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 3));
    const cases = [
      [smoothApKernel, { tau: 0.05, includeQuery: true }],
      [tripletKernel, { margin: 0.1, mining: 'all' }],
      [fastApKernel, { bins: 10 }],
      [blackboxApKernel, { lambda: 4, margin: 0 }],
    ] as const;
    // Longer than needed and dirty: only the first n·d entries are the gradient.
    const gradOut = new Float64Array(n * d + 5).fill(7);
    for (const [kernel, params] of cases) {
      for (const seed of [1, 2]) {
        const x = randomMatrix(n * d, seed);
        const fresh = kernel(x, n, d, labels, params, { rng: new Rng(0) });
        const into = kernel(x, n, d, labels, params, { rng: new Rng(0), gradOut });
        expect(into.grad.buffer).toBe(gradOut.buffer);
        expect(into.grad.length).toBe(n * d);
        expect([...into.grad]).toEqual([...fresh.grad]);
        expect(into.loss).toBe(fresh.loss);
      }
    }
  });
});
