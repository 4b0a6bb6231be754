import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { evaluateQueryGallery, evaluateRetrieval } from '../../src/metrics/retrieval.js';
import type { RetrievalMetrics } from '../../src/metrics/types.js';
import { bruteQueryGallery, gaussianData, tiedData, type BruteQG } from './oracle.js';

function expectClose(got: RetrievalMetrics, want: BruteQG, digits = 12): void {
  expect(got.queries).toBe(want.queries);
  expect(got.leftOut).toBe(want.leftOut);
  expect(got.map).toBeCloseTo(want.map, digits);
  expect(got.mapAtR).toBeCloseTo(want.mapAtR, digits);
  expect(got.rPrecision).toBeCloseTo(want.rPrecision, digits);
  expect(got.precisionAt1).toBeCloseTo(want.precisionAt1, digits);
  expect(got.mrr).toBeCloseTo(want.mrr, digits);
  expect(Object.keys(got.recallAt)).toEqual(Object.keys(want.recallAt));
  for (const k of Object.keys(want.recallAt)) expect(got.recallAt[k]).toBeCloseTo(want.recallAt[k]!, digits);
}

const rows = (x: number[], labels: number[], n = labels.length) => ({ x: Float64Array.from(x), n, labels: Int32Array.from(labels) });

describe('evaluateQueryGallery', () => {
  // d = 1, dot: gallery g = [3 (A=0), 2 (B=1), 1 (A), 2 (A)]; queries [1 (A), -1 (B), 5 (C=2)].
  // q0 = 1: scores 3 2 1 2 → order g0 g1 g3 g2 (tie g1/g3 by index); positives g0 g2 g3, R = 3,
  //   ranks 1, 4, 3. AP (sklearn): thresholds 3 → 1/1, 2 → 2/3, 1 → 3/4: (1 + 2/3 + 3/4)/3 = 29/36.
  //   MAP@R: top 3 = [+, −, +] → (1/1 + 2/3)/3 = 5/9; R-precision 2/3; first rank 1.
  // q1 = −1: scores −3 −2 −1 −2 → order g2 g1 g3 g0; positive g1, R = 1, rank 2. AP: at −2,
  //   3 items ≥ and 1 positive → 1/3. MAP@R 0, R-precision 0, first rank 2 (RR 1/2).
  // q2: class C has no gallery item → left out, counted.
  const g = rows([3, 2, 1, 2], [0, 1, 0, 0]);
  const q = rows([1, -1, 5], [0, 1, 2]);

  it('matches a hand-worked case: ties, a query without positives left out and counted', async () => {
    const m = await evaluateQueryGallery(q, g, 1, { k: [1, 2], workers: 1 });
    expect(m.queries).toBe(2);
    expect(m.leftOut).toBe(1);
    expect(m.map).toBeCloseTo((29 / 36 + 1 / 3) / 2, 15);
    expect(m.mapAtR).toBeCloseTo(5 / 18, 15);
    expect(m.rPrecision).toBeCloseTo(1 / 3, 15);
    expect(m.precisionAt1).toBe(0.5);
    expect(m.mrr).toBeCloseTo(3 / 4, 15);
    expect(m.recallAt).toEqual({ '1': 0.5, '2': 1 });
  });

  it('averages per class first with averaging=class (avg_of_avgs)', async () => {
    // A second class-A query −1: order g2 g1 g3 g0, positives at ranks 1, 3, 4 → AP 29/36
    // (thresholds −1 → 1/1, −2 → 2/3, −3 → 3/4), MAP@R 5/9, R-precision 2/3, first rank 1.
    // Per query: map = (29/36 + 1/3 + 29/36)/3; per class: A = 29/36, B = 1/3 → (29/36 + 1/3)/2.
    const q2 = rows([1, -1, 5, -1], [0, 1, 2, 0]);
    const perQuery = await evaluateQueryGallery(q2, g, 1, { k: [1], workers: 1 });
    const perClass = await evaluateQueryGallery(q2, g, 1, { k: [1], workers: 1, averaging: 'class' });
    expect(perQuery.map).toBeCloseTo((29 / 36 + 1 / 3 + 29 / 36) / 3, 15);
    expect(perClass.map).toBeCloseTo((29 / 36 + 1 / 3) / 2, 15);
    expect(perClass.precisionAt1).toBeCloseTo((1 + 0) / 2, 15);
    expect(perClass.mrr).toBeCloseTo((1 + 1 / 2) / 2, 15);
    expect(perClass.queries).toBe(3);
    expect(perClass.leftOut).toBe(1);
  });

  it('counts a gallery copy of the query as a correct match (nothing left out)', async () => {
    // The query set used as its own gallery: unlike leave-one-out, each query finds itself.
    const { x, labels } = gaussianData(3, 40, 5, 8);
    const same = { x, n: 40, labels };
    const ks = [1, 4];
    const qg = await evaluateQueryGallery(same, same, 5, { k: ks, workers: 1, similarity: 'cosine' });
    expectClose(qg, bruteQueryGallery(x, labels, x, labels, 5, ks, { similarity: 'cosine' }));
    expect(qg.precisionAt1).toBe(1);
    const loo = await evaluateRetrieval(x, 40, 5, labels, { k: ks, workers: 1, similarity: 'cosine' });
    expectClose(loo, bruteQueryGallery(x, labels, x, labels, 5, ks, { similarity: 'cosine', self: true }));
    expect(loo.precisionAt1).toBeLessThan(1);
  });

  it('ranks euclidean by smaller distance, ties by gallery index', async () => {
    // q = 0 (class 0); gallery [1 (1), −1 (0), 2 (0), 0.5 (1)]: distances 1, 1, 2, 0.5 →
    // order g3 g0 g1 g2 (g0/g1 tie by index); positives g1 (rank 3), g2 (rank 4), R = 2.
    // AP: at distance 1, 3 items and 1 positive → 1/3; at 2, 4 items, 2 positives → 2/4: (1/3 + 1/2)/2.
    // With dot (score 0 for all) every item ties: AP = 2/4, first rank by index = 2.
    const gq = rows([1, -1, 2, 0.5], [1, 0, 0, 1]);
    const q0 = rows([0], [0]);
    const e = await evaluateQueryGallery(q0, gq, 1, { k: [1, 3], workers: 1, similarity: 'euclidean' });
    expect(e.map).toBeCloseTo((1 / 3 + 1 / 2) / 2, 15);
    expect(e.mrr).toBeCloseTo(1 / 3, 15);
    expect(e.mapAtR).toBe(0);
    expect(e.recallAt).toEqual({ '1': 0, '3': 1 });
    const dotted = await evaluateQueryGallery(q0, gq, 1, { k: [1], workers: 1 });
    expect(dotted.map).toBeCloseTo(1 / 2, 15);
    expect(dotted.mrr).toBeCloseTo(1 / 2, 15);
  });

  it('treats cosine as scale-free: a gallery item scaled by 2 ties with the original', async () => {
    // q = (1, 0) class 0; gallery (2, 2) class 1, (1, 1) class 0, (1, 0) class 1 → cosine .707,
    // .707, 1: order g2 g0 g1 (g0/g1 tie, by index); AP: at .707, 3 items, 1 positive → 1/3.
    const gq = rows([2, 2, 1, 1, 1, 0], [1, 0, 1]);
    const q0 = rows([1, 0], [0]);
    const c = await evaluateQueryGallery(q0, gq, 2, { k: [1], workers: 1, similarity: 'cosine' });
    expect(c.map).toBeCloseTo(1 / 3, 15);
    expect(c.mrr).toBeCloseTo(1 / 3, 15);
    const dotted = await evaluateQueryGallery(q0, gq, 2, { k: [1], workers: 1 });
    expect(dotted.mrr).toBeCloseTo(1 / 2, 15); // dot: 2, 1, 1 → g0 g1 g2: positive second
  });

  it('matches the brute force on random data: disjoint sets, exact copies, ties; every similarity and averaging', async () => {
    for (const [seed, nq, ng, d, c] of [
      [11, 70, 110, 3, 9],
      [12, 60, 45, 4, 25],
      [13, 50, 90, 2, 3],
    ] as const) {
      const ks = [1, 2, 5, 10];
      for (const similarity of ['dot', 'euclidean', 'cosine'] as const) {
        // Small-integer rows make dot and euclidean scores exact, so their ties are real. Cosine
        // divides by norms, so distinct directions with equal cosine in real arithmetic tie
        // only up to rounding; its data are Gaussian, with ties made exact by copies instead.
        const data = similarity === 'cosine' ? gaussianData : tiedData;
        const qd = data(seed, nq, d, c);
        const gd = data(seed + 100, ng, d, c);
        // Exact copies of some queries in the gallery, with the query's label.
        for (let i = 0; i < Math.min(nq, ng); i += 7) {
          gd.x.set(qd.x.subarray(i * d, (i + 1) * d), i * d);
          gd.labels[i] = qd.labels[i]!;
        }
        // Cosine ignores scale: doubled rows (exact in binary) must tie with their originals.
        if (similarity === 'cosine') for (let i = 0; i < Math.min(nq, ng); i += 14) for (let t = 0; t < d; t++) gd.x[i * d + t]! *= 2;
        for (const averaging of ['query', 'class'] as const) {
          const want = bruteQueryGallery(qd.x, qd.labels, gd.x, gd.labels, d, ks, { similarity, perClass: averaging === 'class' });
          for (const precision of ['f32', 'f64'] as const) {
            const got = await evaluateQueryGallery({ x: qd.x, n: nq, labels: qd.labels }, { x: gd.x, n: ng, labels: gd.labels }, d, {
              k: ks,
              workers: 1,
              precision,
              similarity,
              averaging,
              blockSize: 6,
            });
            expectClose(got, want);
          }
        }
      }
    }
  });

  it('matches the brute force on Gaussian float32 features, and leave-one-out with every similarity', async () => {
    const qd = gaussianData(31, 120, 7, 30);
    const gd = gaussianData(32, 200, 7, 30);
    const qx = Float32Array.from(qd.x, (v) => v * 5 + 1);
    const gx = Float32Array.from(gd.x, (v) => v * 5 + 1);
    const ks = [1, 4, 16];
    for (const similarity of ['dot', 'cosine', 'euclidean'] as const) {
      const got = await evaluateQueryGallery({ x: qx, n: 120, labels: qd.labels }, { x: gx, n: 200, labels: gd.labels }, 7, { k: ks, workers: 1, similarity });
      expectClose(got, bruteQueryGallery(qx, qd.labels, gx, gd.labels, 7, ks, { similarity }));
      const loo = await evaluateRetrieval(gx, 200, 7, gd.labels, { k: ks, workers: 1, similarity, averaging: 'class' });
      expectClose(loo, bruteQueryGallery(gx, gd.labels, gx, gd.labels, 7, ks, { similarity, self: true, perClass: true }));
    }
  });

  it('rejects bad input with one-line errors naming the side and value', async () => {
    const ok = rows([1, 2], [0, 0]);
    await expect(evaluateQueryGallery(rows([1, 2, 3], [0, 0], 3), ok, 1)).rejects.toThrow(/query labels: 2 labels for 3 query rows/);
    await expect(evaluateQueryGallery(ok, rows([1, 2, 3], [0, 0], 3), 1)).rejects.toThrow(/gallery labels: 2 labels for 3 gallery rows/);
    await expect(evaluateQueryGallery(ok, rows([1, 2, 3], [0, 0]), 1)).rejects.toThrow(/gallery: 3 values for n×d = 2×1/);
    await expect(evaluateQueryGallery(ok, { x: new Float64Array(0), n: 0, labels: new Int32Array(0) }, 1)).rejects.toThrow(/gallery: 0 gallery rows/);
    await expect(evaluateQueryGallery(ok, rows([1, NaN], [0, 0]), 1)).rejects.toThrow(/gallery: row 1 column 0 is NaN/);
    await expect(evaluateQueryGallery(ok, rows([1, 2], [1, 1]), 1)).rejects.toThrow(UserError);
    await expect(evaluateQueryGallery(ok, rows([1, 2], [1, 1]), 1)).rejects.toThrow(/none of the 2 queries/);
    await expect(evaluateQueryGallery(ok, rows([0, 2], [0, 0]), 1, { similarity: 'cosine' })).rejects.toThrow(/gallery: row 0 is all zeros/);
    await expect(evaluateQueryGallery(ok, ok, 1, { similarity: 'manhattan' as never })).rejects.toThrow(/similarity: "manhattan" is not allowed/);
    await expect(evaluateQueryGallery(ok, ok, 1, { averaging: 'items' as never })).rejects.toThrow(/averaging: "items"/);
  });
});
