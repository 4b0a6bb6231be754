import { describe, expect, it } from 'vitest';
import { averagePrecisionOfRow, batchAveragePrecision } from '../../src/metrics/average-precision.js';
import { bruteBatchAP, gaussianData, sklearnAP, tiedData } from './oracle.js';

describe('averagePrecisionOfRow (scikit-learn ties)', () => {
  it('matches a hand-worked ranking without ties', () => {
    // ranking: + - + -  → positives at ranks 1 and 3: (1/1 + 2/3) / 2 = 5/6
    expect(averagePrecisionOfRow([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0])).toBeCloseTo(5 / 6, 15);
  });

  it('counts every item tied with a positive as ranked above it', () => {
    // scores 0.9(-) 0.5(+) 0.5(-) 0.1(+): the positive at 0.5 sees 3 items ≥ 0.5, 1 positive → 1/3;
    // the positive at 0.1 sees 4 items, 2 positives → 1/2; AP = (1/3 + 1/2) / 2 = 5/12.
    expect(averagePrecisionOfRow([0.9, 0.5, 0.5, 0.1], [0, 1, 0, 1])).toBeCloseTo(5 / 12, 15);
    // the same set in the other order gives the same AP: ties do not depend on position
    expect(averagePrecisionOfRow([0.1, 0.5, 0.5, 0.9], [1, 0, 1, 0])).toBeCloseTo(5 / 12, 15);
  });

  it('gives tied positives one shared precision', () => {
    // 0.5(+) 0.5(+) 0.5(-) 0.2(+): the two positives at 0.5 each get 2/3 (2 positives among 3 items);
    // the positive at 0.2 gets 3/4; AP = (2/3 + 2/3 + 3/4) / 3 = 25/36.
    expect(averagePrecisionOfRow([0.5, 0.5, 0.5, 0.2], [1, 1, 0, 1])).toBeCloseTo(25 / 36, 15);
  });

  it('is NaN without positives and 1 when all items are positive', () => {
    expect(averagePrecisionOfRow([0.3, 0.2], [0, 0])).toBeNaN();
    expect(averagePrecisionOfRow([0.3, 0.3, 0.1], [1, 1, 1])).toBe(1);
  });

  it('agrees with a threshold-walking sklearn oracle on random rows with many ties', () => {
    let seed = 17;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 200; trial++) {
      const len = 1 + Math.floor(rnd() * 40);
      const scores = Array.from({ length: len }, () => Math.floor(rnd() * 6) / 5);
      const rel = Array.from({ length: len }, () => rnd() < 0.3);
      const want = sklearnAP(scores, rel);
      const got = averagePrecisionOfRow(scores, rel);
      if (Number.isNaN(want)) expect(got).toBeNaN();
      else expect(got).toBeCloseTo(want, 12);
    }
  });
});

describe('batchAveragePrecision', () => {
  // x0=(1,0) x1=(1,0) x2=(0,1) x3=(1,1) x4=(-1,-1); labels 0,1,1,0,2.
  // Scores s_ij = x_i·x_j:      j=0  1  2  3  4
  //                       q=0:   1  1  0  1 -1
  //                       q=1:   1  1  0  1 -1
  //                       q=2:   0  0  1  1 -1
  //                       q=3:   1  1  1  2 -2
  // x4 scores below every positive of queries 0..3, so it never enters their counts; its class
  // has no other item, so query 4 is NaN under both conventions.
  const x = new Float64Array([1, 0, 1, 0, 0, 1, 1, 1, -1, -1]);
  const labels = new Int32Array([0, 1, 1, 0, 2]);

  it('leaves the query out of both sets when includeQuery is false', () => {
    // q0: set {1:1, 2:0, 3:1}, positive 3 (s=1): items ≥1 = {1,3} → 1/2.
    // q1: set {0:1, 2:0, 3:1}, positive 2 (s=0): all 3 items ≥0 → 1/3.
    // q2: set {0:0, 1:0, 3:1}, positive 1 (s=0): 3 items → 1/3.
    // q3: set {0:1, 1:1, 2:1}, positive 0 (s=1): 3 items → 1/3.
    const ap = batchAveragePrecision(x, 5, 2, labels, false);
    const want = [1 / 2, 1 / 3, 1 / 3, 1 / 3];
    want.forEach((w, q) => expect(ap[q]).toBeCloseTo(w, 15));
    expect(ap[4]).toBeNaN();
  });

  it('puts the query in both sets with s_qq = x_q·x_q when includeQuery is true', () => {
    // q0: positives 0 (s=1), 3 (s=1); items ≥1 = {0,1,3} → 2/3 each → AP 2/3.
    // q1: positive 1 (s=1): items ≥1 {0,1,3}, 1 positive → 1/3; positive 2 (s=0): 4 items, 2 positives → 1/2;
    //     AP = (1/3 + 1/2)/2 = 5/12.
    // q2: positive 2 (s=1): items ≥1 {2,3} → 1/2; positive 1 (s=0): 4 items, 2 positives → 1/2; AP = 1/2.
    // q3: positive 3 (s=2): alone at the top → 1; positive 0 (s=1): 4 items, 2 positives → 1/2; AP = 3/4.
    const ap = batchAveragePrecision(x, 5, 2, labels, true);
    const want = [2 / 3, 5 / 12, 1 / 2, 3 / 4];
    want.forEach((w, q) => expect(ap[q]).toBeCloseTo(w, 15));
    expect(ap[4]).toBeNaN();
  });

  it('matches the full-sort oracle on random data with forced ties, both conventions', () => {
    for (const [seed, n, d, c] of [
      [1, 60, 3, 5],
      [2, 97, 4, 20],
      [3, 40, 2, 3],
    ] as const) {
      const { x: xs, labels: ls } = tiedData(seed, n, d, c);
      for (const inc of [false, true]) {
        const got = batchAveragePrecision(xs, n, d, ls, inc);
        const want = bruteBatchAP(xs, n, d, ls, inc);
        for (let q = 0; q < n; q++) {
          if (Number.isNaN(want[q])) expect(got[q]).toBeNaN();
          else expect(got[q]).toBeCloseTo(want[q], 12);
        }
      }
    }
  });

  it('matches the oracle on Gaussian float32 input, and the conventions differ', () => {
    const { x: x64, labels: ls } = gaussianData(9, 80, 8, 6);
    const x32 = Float32Array.from(x64);
    const exc = batchAveragePrecision(x32, 80, 8, ls, false);
    const inc = batchAveragePrecision(x32, 80, 8, ls, true);
    const wantExc = bruteBatchAP(x32, 80, 8, ls, false);
    const wantInc = bruteBatchAP(x32, 80, 8, ls, true);
    for (let q = 0; q < 80; q++) {
      expect(exc[q]).toBeCloseTo(wantExc[q], 12);
      expect(inc[q]).toBeCloseTo(wantInc[q], 12);
    }
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    expect(mean(inc)).toBeGreaterThan(mean(exc));
  });
});

describe('batchAveragePrecision on non-finite input', () => {
  it('gives NaN for the queries whose scores are not finite, and exact AP elsewhere', () => {
    // Row 1 holds a NaN, so every score involves it for query 1 and s_q1 is NaN for every q.
    const x = new Float64Array([1, 0, NaN, 1, 0, 1, 1, 1]);
    const ap = batchAveragePrecision(x, 4, 2, new Int32Array([0, 0, 1, 1]), false);
    for (let q = 0; q < 4; q++) expect(ap[q]).toBeNaN();
    const finite = batchAveragePrecision(new Float64Array([1, 0, 1, 0, 0, 1, 1, 1]), 4, 2, new Int32Array([0, 0, 1, 1]), false);
    // q0: set {1:1, 2:0, 3:1}, positive 1 (s=1): items ≥1 = {1,3} → 1/2.
    expect(finite[0]).toBeCloseTo(1 / 2, 15);
  });
});
