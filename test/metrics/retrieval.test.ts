import { describe, expect, it } from 'vitest';
import { defaultKs, evaluateRetrieval, retrievalPerQuery } from '../../src/metrics/retrieval.js';
import { evaluateBlocks, SLOTS } from '../../src/metrics/retrieval-core.js';
import { UserError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { bruteRetrieval, gaussianData, nearTieData, tiedData, type BruteRetrieval } from './oracle.js';
import type { RetrievalMetrics } from '../../src/metrics/types.js';

function expectClose(got: RetrievalMetrics, want: BruteRetrieval, digits = 12): void {
  expect(got.queries).toBe(want.queries);
  expect(got.map).toBeCloseTo(want.map, digits);
  expect(got.mapAtR).toBeCloseTo(want.mapAtR, digits);
  expect(got.rPrecision).toBeCloseTo(want.rPrecision, digits);
  expect(got.precisionAt1).toBeCloseTo(want.precisionAt1, digits);
  expect(Object.keys(got.recallAt)).toEqual(Object.keys(want.recallAt));
  for (const k of Object.keys(want.recallAt)) expect(got.recallAt[k]).toBeCloseTo(want.recallAt[k], digits);
}

describe('evaluateRetrieval', () => {
  it('matches a hand-worked set with ties (sklearn ties for mAP, index order for top-K)', async () => {
    // d = 1, x = [2, 1, 1, 0, -1], labels [0, 1, 0, 1, 0]; s_qj = x_q·x_j; order = score desc, index asc.
    // q0: j1=2 j2=2 j3=0 j4=-2, positives {2,4}, R=2. Order j1 j2 j3 j4 → rel 0 1 0 1.
    //     AP: j2 sees {1,2} ≥ 2 → 1/2; j4 sees 4 items, 2 pos → 1/2; AP 1/2.
    //     top-2 = [j1, j2]: MAP@R = (1/2)(1/2) = 1/4; R-prec 1/2; first positive rank 2.
    // q1: j0=2 j2=1 j3=0 j4=-1, positive {3}, R=1. AP 1/3; top-1 j0 → MAP@R 0, R-prec 0; first rank 3.
    // q2: j0=2 j1=1 j3=0 j4=-1, positives {0,4}, R=2. AP (1/1 + 2/4)/2 = 3/4; top-2 [j0, j1] →
    //     MAP@R (1/2)(1/1) = 1/2, R-prec 1/2; first rank 1.
    // q3: every score 0; positive {1}, R=1. AP: 4 items ≥ 0 → 1/4; the tie breaks by index, so
    //     the order is j0 j1 j2 j4: first rank 2, MAP@R 0, R-prec 0.
    // q4: j0=-2 j1=-1 j2=-1 j3=0, positives {0,2}. AP: j2 sees {3,1,2} → 1/3; j0: 2/4; AP 5/12.
    //     order j3 j1 j2 j0: top-2 has no positive → 0, 0; first rank 3.
    // mean over 5 queries: map = (6+4+9+3+5)/12/5 = 27/60; mapAtR = (1/4 + 1/2)/5 = 3/20;
    // rPrecision = (1/2 + 1/2)/5 = 1/5; P@1 = 1/5; first ranks [2,3,1,2,3] → R@1 1/5, R@2 3/5, R@3 1.
    const x = new Float64Array([2, 1, 1, 0, -1]);
    const labels = new Int32Array([0, 1, 0, 1, 0]);
    for (const useWasm of [true, false]) {
      const m = await evaluateRetrieval(x, 5, 1, labels, { k: [1, 2, 3], workers: 1, useWasm });
      expect(m.queries).toBe(5);
      expect(m.map).toBeCloseTo(27 / 60, 15);
      expect(m.mapAtR).toBeCloseTo(3 / 20, 15);
      expect(m.rPrecision).toBeCloseTo(1 / 5, 15);
      expect(m.precisionAt1).toBeCloseTo(1 / 5, 15);
      expect(m.recallAt).toEqual({ '1': 1 / 5, '2': 3 / 5, '3': 1 });
    }
  });

  it('breaks top-K ties by item index: moving the positive before a tied negative changes P@1', async () => {
    // Query 0 = (1); items 1 and 2 both score 1. Positive at index 1 → rank 1; at index 2 → rank 2.
    const x = new Float64Array([1, 1, 1]);
    const first = await evaluateRetrieval(x, 3, 1, new Int32Array([0, 0, 1]), { k: [1], workers: 1 });
    const second = await evaluateRetrieval(x, 3, 1, new Int32Array([0, 1, 0]), { k: [1], workers: 1 });
    // Labels [0,0,1]: queries 0 and 1 (class 0) count. q0: order j1 j2 → positive first → P@1 1.
    // q1: order j0 j2 → positive j0 first → 1. So P@1 = 1.
    expect(first.precisionAt1).toBe(1);
    // Labels [0,1,0]: queries 0 and 2. q0: order j1(neg) j2(pos) → 0. q2: order j0(pos) j1 → 1. P@1 = 1/2.
    expect(second.precisionAt1).toBe(0.5);
    // mAP ignores the order of ties: q0 sees 2 items ≥ 1 with 1 positive → 1/2 in both layouts.
    expect(second.map).toBeCloseTo((1 / 2 + 1 / 2) / 2, 15);
    expect(first.map).toBeCloseTo((1 / 2 + 1 / 2) / 2, 15);
  });

  it('matches a full-sort brute force on data with many exact ties, with either kernel', async () => {
    for (const [seed, n, d, c] of [
      [4, 90, 3, 7],
      [5, 150, 2, 30],
      [6, 64, 4, 2],
    ] as const) {
      const { x, labels } = tiedData(seed, n, d, c);
      const ks = [1, 2, 4, 8, 16];
      const want = bruteRetrieval(x, n, d, labels, ks);
      for (const precision of ['f32', 'f64'] as const) {
        expectClose(await evaluateRetrieval(x, n, d, labels, { k: ks, workers: 1, precision }), want);
      }
    }
  });

  it('matches the brute force on Gaussian float32 embeddings', async () => {
    const { x: x64, labels } = gaussianData(7, 300, 16, 25);
    const x = Float32Array.from(x64);
    const ks = defaultKs(300);
    expectClose(await evaluateRetrieval(x, 300, 16, labels, { workers: 1 }), bruteRetrieval(x, 300, 16, labels, ks));
  });

  it('leaves out queries whose class has no other item', async () => {
    const { x, labels } = tiedData(8, 80, 3, 10);
    // Make every fourth item a singleton class of its own.
    for (let i = 0; i < 80; i += 4) labels[i] = 1000 + i;
    const want = bruteRetrieval(x, 80, 3, labels, [1, 5]);
    expect(want.queries).toBeLessThan(80 - 15);
    const got = await evaluateRetrieval(x, 80, 3, labels, { k: [1, 5], workers: 1 });
    expectClose(got, want);
    const none = await evaluateRetrieval(new Float64Array([1, 2, 3]), 3, 1, new Int32Array([0, 1, 2]), { k: [1], workers: 1 });
    expect(none.queries).toBe(0);
    expect(none.map).toBeNaN();
    expect(none.recallAt['1']).toBeNaN();
  });

  it('gives identical per-query results for every block size, both precisions and the plain-JS kernel', async () => {
    const { x, labels } = tiedData(9, 123, 5, 9);
    const base = (await retrievalPerQuery(x, 123, 5, labels, { workers: 1, blockSize: 123 })).perQuery;
    for (const precision of ['f32', 'f64'] as const) {
      for (const blockSize of [1, 2, 7, 32, 64]) {
        const r = await retrievalPerQuery(x, 123, 5, labels, { workers: 1, blockSize, precision });
        expect(Array.from(r.perQuery)).toEqual(Array.from(base));
      }
    }
    // Integer data: both kernels' sums are exact, so even the summation order cannot differ.
    const js = await retrievalPerQuery(x, 123, 5, labels, { workers: 1, blockSize: 10, useWasm: false });
    expect(Array.from(js.perQuery)).toEqual(Array.from(base));
  });

  it('ranks rows of thousands of items exactly with either kernel, ties and near-ties included', async () => {
    // Small integers give many exact ties, though not all items on a handful of scores.
    const ints = (n: number, d: number, classes: number) => {
      const rng = new Rng(12);
      return { x: Float64Array.from({ length: n * d }, () => rng.int(9) - 4), labels: Int32Array.from({ length: n }, () => rng.int(classes)) };
    };
    const ks = [1, 2, 4, 8, 100];
    // Against a full-sort brute force.
    const small = ints(2100, 8, 30);
    const want = bruteRetrieval(small.x, 2100, 8, small.labels, ks);
    for (const precision of ['f32', 'f64'] as const) {
      expectClose(await evaluateRetrieval(small.x, 2100, 8, small.labels, { k: ks, workers: 1, precision }), want);
    }
    const near = nearTieData(13, 2100, 6, 7);
    expectClose(
      await evaluateRetrieval(near.x, 2100, 6, near.labels, { k: ks, workers: 1, precision: 'f32' }),
      bruteRetrieval(near.x, 2100, 6, near.labels, ks),
    );
    // Larger, blocks of 36 rows: every query as the plain-JS kernel gives it.
    const big = ints(4500, 8, 40);
    const js = (await retrievalPerQuery(big.x, 4500, 8, big.labels, { workers: 1, useWasm: false })).perQuery;
    for (const precision of ['f32', 'f64'] as const) {
      const r = await retrievalPerQuery(big.x, 4500, 8, big.labels, { workers: 1, precision, blockSize: 36 });
      expect(Array.from(r.perQuery)).toEqual(Array.from(js));
    }
  }, 120_000);

  it('is exact on collapsed embeddings (every score tied), with either kernel', async () => {
    // Every item ties with every positive: each query's AP is R / (n − 1), and the first positive
    // in the index order decides Recall@K (ties broken by index).
    const n = 240,
      d = 5;
    const x = new Float64Array(n * d).fill(0.3);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 6);
    const ks = [1, 5, 10];
    const want = bruteRetrieval(x, n, d, labels, ks);
    expect(want.map).toBeCloseTo(39 / 239, 12);
    for (const precision of ['f32', 'f64'] as const) {
      expectClose(await evaluateRetrieval(x, n, d, labels, { k: ks, workers: 1, precision }), want);
    }
  });

  it("leaves the float32 kernel for float64 when ties make most items need rescoring ('auto'), with the same results", () => {
    const n = 1200,
      d = 6,
      blockSize = 40;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 40);
    const run = (x: Float64Array, precision: 'auto' | 'f64') => {
      const out = new Float64Array(n * SLOTS);
      const stats = { switchedToF64At: -2 };
      let next = 0;
      evaluateBlocks({ x, n, d, labels, blockSize, out, precision, stats }, () => (next += blockSize) - blockSize);
      return { out: Array.from(out), switchedAt: stats.switchedToF64At };
    };
    // Collapsed: every score tied, so every item is within the bound of every positive.
    const collapsed = new Float64Array(n * d).fill(0.2);
    const auto = run(collapsed, 'auto');
    expect(auto.switchedAt).toBe(blockSize);
    expect(auto.out).toEqual(run(collapsed, 'f64').out);
    // Ordinary embeddings stay on float32 throughout.
    const { x } = gaussianData(14, n, d, 40);
    const plain = run(x, 'auto');
    expect(plain.switchedAt).toBe(-1);
    expect(plain.out).toEqual(run(x, 'f64').out);
  });

  it('is exact with the float32 kernel on near-ties below float32 resolution', async () => {
    // Scores differ only at ~1e-9 relative: float32 alone would tie or misorder them, so this
    // passes only if items within the kernel's error bound are rescored in float64.
    const { x, labels } = nearTieData(11, 160, 6, 5);
    const ks = [1, 2, 4, 8, 16];
    const want = bruteRetrieval(x, 160, 6, labels, ks);
    const f32 = await evaluateRetrieval(x, 160, 6, labels, { k: ks, workers: 1, precision: 'f32' });
    const f64 = await evaluateRetrieval(x, 160, 6, labels, { k: ks, workers: 1, precision: 'f64' });
    expectClose(f32, want);
    expectClose(f64, want);
    // The data really defeats float32: rows rounded to float32 lose the perturbations (what a
    // pure float32 evaluation would rank), and give a different mAP.
    const naive = bruteRetrieval(Float64Array.from(Float32Array.from(x)), 160, 6, labels, ks);
    expect(Math.abs(naive.map - want.map)).toBeGreaterThan(1e-6);
  });

  it('falls back to this thread when run from sources (no compiled worker script)', async () => {
    const { x, labels } = tiedData(10, 40, 3, 4);
    const r = await retrievalPerQuery(x, 40, 3, labels, { workers: 2, blockSize: 4 });
    expect(r.workersUsed).toBe(1);
  });

  it('rejects bad input with a UserError', async () => {
    const x = new Float64Array([1, 2, 3, 4]);
    const l = new Int32Array([0, 0]);
    await expect(evaluateRetrieval(x, 2, 2, l, { k: [0] })).rejects.toThrow(UserError);
    await expect(evaluateRetrieval(x, 2, 2, l, { k: [1.5] })).rejects.toThrow(/k: 1.5/);
    await expect(evaluateRetrieval(x, 2, 2, l, { k: [] })).rejects.toThrow(/empty/);
    await expect(evaluateRetrieval(x, 2, 2, new Int32Array([0]))).rejects.toThrow(/1 labels for 2/);
    await expect(evaluateRetrieval(new Float64Array([1, NaN, 3, 4]), 2, 2, l)).rejects.toThrow(/row 0 column 1 is NaN/);
    await expect(evaluateRetrieval(new Float64Array([1e200, 0, 0, 1]), 2, 2, l)).rejects.toThrow(/overflow/);
    await expect(evaluateRetrieval(x, 2, 2, l, { workers: 0 })).rejects.toThrow(/workers/);
    await expect(evaluateRetrieval(x, 2, 2, l, { blockSize: -1 })).rejects.toThrow(/blockSize/);
  });
});

describe('defaultKs', () => {
  it('keeps 1,2,4,8 and adds 10, 100, 1000 only where K < n', () => {
    expect(defaultKs(5)).toEqual([1, 2, 4, 8]);
    expect(defaultKs(10)).toEqual([1, 2, 4, 8]);
    expect(defaultKs(11)).toEqual([1, 2, 4, 8, 10]);
    expect(defaultKs(1000)).toEqual([1, 2, 4, 8, 10, 100]);
    expect(defaultKs(60000)).toEqual([1, 2, 4, 8, 10, 100, 1000]);
  });
});
