import { describe, expect, it } from 'vitest';
import { evaluateRetrieval, retrievalPerQuery } from '../../src/metrics/retrieval.js';
import { bucket32 } from '../../src/kernels/rank-tile.js';
import { Rng } from '../../src/core/rng.js';
import { bruteRetrieval, gaussianData, nearTieData, tiedData } from './oracle.js';

// The half-Gram path (symmetric-retrieval.ts) must give exactly the row-wise path's per-query
// results, which the brute-force oracle checks independently elsewhere; here both comparisons.

// Classes here are large for their n, where 'auto' precision would pick float64 (and with it
// the row-wise path): the float32 kernel is asked for.
async function both(x: Float64Array | Float32Array, n: number, d: number, labels: Int32Array, blockSize: number) {
  const half = await retrievalPerQuery(x, n, d, labels, { symmetric: true, precision: 'f32', blockSize, workers: 1 });
  const rows = await retrievalPerQuery(x, n, d, labels, { symmetric: false, workers: 1 });
  return { half, rows };
}

/** The half-Gram path's metrics against the brute-force oracle's; returns ours. */
async function matchesBrute(x: Float64Array | Float32Array, n: number, d: number, labels: Int32Array, blockSize: number, ks: number[]) {
  const got = await evaluateRetrieval(x, n, d, labels, { symmetric: true, precision: 'f32', blockSize, k: ks, workers: 1 });
  const want = bruteRetrieval(x, n, d, labels, ks);
  expect(got.queries).toBe(want.queries);
  expect(got.map).toBeCloseTo(want.map, 12);
  expect(got.mapAtR).toBeCloseTo(want.mapAtR, 12);
  expect(got.rPrecision).toBeCloseTo(want.rPrecision, 12);
  expect(got.precisionAt1).toBeCloseTo(want.precisionAt1, 12);
  for (const k of ks) expect(got.recallAt[String(k)]).toBeCloseTo(want.recallAt[String(k)]!, 12);
  return got;
}

function sameValues(a: Float64Array, b: Float64Array): void {
  expect(a.length).toBe(b.length);
  const differ: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) differ.push(i);
  expect(differ).toEqual([]);
}

describe('half-Gram leave-one-out evaluation', () => {
  it('equals the row-wise path bit for bit on Gaussian rows, for tiles that do not divide n', async () => {
    const { x, labels } = gaussianData(31, 617, 9, 40);
    for (const blockSize of [4, 12, 64, 700]) {
      const { half, rows } = await both(x, 617, 9, labels, blockSize);
      expect(half.halfGram).toBe(true);
      sameValues(half.perQuery, rows.perQuery);
    }
  });

  it('leaves queries of one-item classes out (NaN rows) and matches the brute force', async () => {
    const { x, labels } = gaussianData(32, 300, 6, 60);
    labels[7] = 1000; // a class of one
    const got = await matchesBrute(Float32Array.from(x), 300, 6, labels, 16, [1, 2, 4, 10, 100]);
    expect(got.leftOut).toBe(300 - got.queries);
    expect(got.leftOut).toBeGreaterThanOrEqual(1);
  });

  it('counts exact ties of items with positives as scikit-learn and the index order do', async () => {
    // Small integers: most items score exactly as some positive does, so nearly every pair is a
    // candidate (below 100,000 of them, where the path would hand over to the row-wise one).
    const { x, labels } = tiedData(33, 300, 5, 9);
    const { half, rows } = await both(x, 300, 5, labels, 32);
    expect(half.halfGram).toBe(true);
    sameValues(half.perQuery, rows.perQuery);
    await matchesBrute(x, 300, 5, labels, 32, [1, 4, 16]);
  });

  it('orders near-ties below float32 resolution by their float64 scores', async () => {
    const { x, labels } = nearTieData(34, 300, 8, 12);
    const { half, rows } = await both(x, 300, 8, labels, 20);
    expect(half.halfGram).toBe(true);
    sameValues(half.perQuery, rows.perQuery);
  });

  it('gives collapsed embeddings to the row-wise path, with the same results', async () => {
    const n = 1200;
    const d = 4;
    const x = new Float64Array(n * d).fill(0.5);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 30);
    const { half, rows } = await both(x, n, d, labels, 64);
    expect(half.halfGram).toBeFalsy();
    sameValues(half.perQuery, rows.perQuery);
  });

  it('is not used for euclidean scores (not a plain dot product of one row set) or float64 precision', async () => {
    const { x, labels } = gaussianData(35, 200, 4, 10);
    const e = await retrievalPerQuery(x, 200, 4, labels, { symmetric: true, similarity: 'euclidean', workers: 1 });
    expect(e.halfGram).toBeFalsy();
    const f = await retrievalPerQuery(x, 200, 4, labels, { symmetric: true, precision: 'f64', workers: 1 });
    expect(f.halfGram).toBeFalsy();
    const c = await retrievalPerQuery(x, 200, 4, labels, { symmetric: true, precision: 'f32', similarity: 'cosine', workers: 1, blockSize: 8 });
    expect(c.halfGram).toBe(true);
    const cRows = await retrievalPerQuery(x, 200, 4, labels, { symmetric: false, similarity: 'cosine', workers: 1 });
    sameValues(c.perQuery, cRows.perQuery);
  });
});

describe('bucket32', () => {
  it('is monotone and rounds each step to float32, as the kernel does', () => {
    const rng = new Rng(36);
    for (let trial = 0; trial < 200; trial++) {
      const lo = Math.fround(rng.normal());
      const sc = Math.fround(1 + 1000 * rng.next());
      const top = 10 + rng.int(500);
      const ce = top + 0.5;
      const v = Array.from({ length: 50 }, () => Math.fround(lo + rng.normal() * (top / sc))).sort((a, b) => a - b);
      let prev = -Infinity;
      for (const s of v) {
        const b = bucket32(s, lo, sc, ce);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThanOrEqual(top + 1);
        expect(b).toBeGreaterThanOrEqual(prev);
        prev = b;
        // Hand-worked float32 steps: subtract, multiply, floor, clamp to [-1, top], shift by one.
        const y = Math.floor(Math.fround(Math.fround(s - lo) * sc));
        expect(b).toBe(Math.min(Math.max(y, -1), top) + 1);
      }
      expect(bucket32(-Infinity, lo, sc, ce)).toBe(0);
    }
  });
});
