import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { blackboxApKernel } from '../../src/losses/blackbox-ap.js';
import { blackboxApTensor } from '../../src/losses/reference/blackbox-ap-tensor.js';
import { batchAveragePrecision } from '../../src/metrics/average-precision.js';
import { selectBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/core/rng.js';
import { UserError } from '../../src/core/errors.js';
import { dot, maxAbsDiff, meanOfValid, randomUnit, relErr, unevenLabels } from './oracles.js';

/**
 * The blackbox rule written out with O(B²) counting per query: shifted scores, ranks
 * #{j : s_j ≥ s_i}, g = ∂L/∂(rank/B) on positives, ranks of s + λg, ∂L/∂s = −(r − r')/λ, then
 * ∂L/∂x_a = Σ_b (G_ab + G_ba)·x_b.
 */
function bruteBlackbox(x: Float64Array, n: number, d: number, labels: Int32Array, lambda: number, margin: number, seed: number) {
  const rng = new Rng(seed);
  const s: number[][] = [];
  for (let q = 0; q < n; q++) {
    s.push([]);
    for (let j = 0; j < n; j++) {
      const half = margin > 0 ? (margin * Math.abs(rng.normal())) / 2 : 0;
      s[q]!.push(dot(x, d, q, j) + (labels[j] === labels[q] ? -half : half));
    }
  }
  const valid = [...labels.keys()].filter((q) => labels.some((l, j) => j !== q && l === labels[q]));
  const Q = valid.length;
  const ap = new Float64Array(n).fill(NaN);
  const G: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const rankIn = (row: number[], i: number, set: number[]) => set.filter((j) => row[j]! >= row[i]!).length;
  for (const q of valid) {
    const row = s[q]!;
    const all = [...labels.keys()];
    const P = all.filter((j) => labels[j] === labels[q]);
    let sum = 0;
    const g = new Array<number>(n).fill(0);
    for (const i of P) {
      const rp = rankIn(row, i, P);
      const r = rankIn(row, i, all) / n;
      sum += rp / (r * n);
      g[i] = rp / (Q * P.length * n * r * r);
    }
    ap[q] = sum / P.length;
    const moved = row.map((v, j) => v + lambda * g[j]!);
    for (const j of all) G[q]![j] = -(rankIn(row, j, all) / n - rankIn(moved, j, all) / n) / lambda;
  }
  const grad = new Float64Array(n * d);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < d; k++) grad[a * d + k] += (G[a]![b]! + G[b]![a]!) * x[b * d + k]!;
    }
  }
  return { loss: 1 - meanOfValid(ap), ap, grad };
}

describe('blackbox-ap kernel', () => {
  it('forward at margin 0 equals 1 − exact AP (query included), per query', () => {
    const labels = unevenLabels();
    const n = labels.length;
    const d = 5;
    const x = randomUnit(n, d, 41);
    const out = blackboxApKernel(x, n, d, labels, { lambda: 4, margin: 0 }, { rng: new Rng(1) });
    const exact = batchAveragePrecision(x, n, d, labels, true);
    expect([...out.apPerQuery!].map(Number.isNaN)).toEqual([...exact].map(Number.isNaN));
    expect(
      maxAbsDiff(
        out.apPerQuery!.filter((v) => !Number.isNaN(v)),
        exact.filter((v) => !Number.isNaN(v)),
      ),
    ).toBeLessThan(1e-15);
    expect(Math.abs(out.loss - (1 - meanOfValid(exact)))).toBeLessThan(1e-15);
  });

  it('ties: equal scores form one threshold, as in exact AP', () => {
    // Small integer embeddings make every score exact, with many ties (duplicated rows included).
    const rows = [
      [1, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [1, 0],
      [0, 1],
      [2, 0],
      [1, 1],
    ];
    const labels = Int32Array.from([0, 1, 0, 1, 0, 1, 2, 2]);
    const x = Float64Array.from(rows.flat());
    const out = blackboxApKernel(x, 8, 2, labels, { lambda: 4, margin: 0 }, { rng: new Rng(1) });
    const exact = batchAveragePrecision(x, 8, 2, labels, true);
    expect(maxAbsDiff(out.apPerQuery!, exact)).toBeLessThan(1e-15);
    expect(maxAbsDiff(out.apPerQuery!, bruteBlackbox(x, 8, 2, labels, 4, 0, 1).ap)).toBeLessThan(1e-15);
  });

  for (const [lambda, margin] of [
    [4, 0],
    [4, 0.02],
    [0.5, 0.2],
    [40, 0.02],
  ] as const) {
    it(`backward equals a brute-force implementation of the blackbox rule (lambda=${lambda}, margin=${margin})`, () => {
      const labels = unevenLabels();
      const n = labels.length;
      const d = 4;
      const x = randomUnit(n, d, 42);
      const got = blackboxApKernel(x, n, d, labels, { lambda, margin }, { rng: new Rng(7) });
      const want = bruteBlackbox(x, n, d, labels, lambda, margin, 7);
      expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-14);
      expect([...want.grad].some((v) => v !== 0)).toBe(true);
      expect(maxAbsDiff(got.grad, want.grad)).toBeLessThan(1e-12);
    });
  }

  it('a class past the counting passes (over 16 items) beside small ones: both ways of ranking equal the brute force', () => {
    // Class 0 has 20 items (binary searches), the others 2 to 4 (counting); ties from rounded coordinates.
    const labels = Int32Array.from([...Array.from({ length: 20 }, () => 0), 1, 1, 2, 2, 2, 3, 3, 3, 3, 4]);
    const n = labels.length;
    const d = 3;
    const x = randomUnit(n, d, 45).map((v) => Math.round(v * 4) / 4);
    for (const margin of [0, 0.05]) {
      const got = blackboxApKernel(x, n, d, labels, { lambda: 4, margin }, { rng: new Rng(9) });
      const want = bruteBlackbox(x, n, d, labels, 4, margin, 9);
      expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-14);
      expect(
        maxAbsDiff(
          got.apPerQuery!.filter((v) => !Number.isNaN(v)),
          want.ap.filter((v) => !Number.isNaN(v)),
        ),
      ).toBeLessThan(1e-14);
      expect([...want.grad].some((v) => v !== 0)).toBe(true);
      expect(maxAbsDiff(got.grad, want.grad)).toBeLessThan(1e-12);
    }
  });

  it('a well-separated batch (most negatives below every positive) equals the brute force', () => {
    // Six classes of four around their own centre: few negatives reach a positive, and the
    // positives' moves cross few of them.
    const n = 24;
    const d = 6;
    const centres = randomUnit(6, d, 46);
    const noise = randomUnit(n, d, 47);
    const x = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      let norm = 0;
      for (let k = 0; k < d; k++) norm += (x[i * d + k] = centres[Math.floor(i / 4) * d + k]! + 0.35 * noise[i * d + k]!) ** 2;
      for (let k = 0; k < d; k++) x[i * d + k]! /= Math.sqrt(norm);
    }
    const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 4));
    for (const margin of [0, 0.02]) {
      const got = blackboxApKernel(x, n, d, labels, { lambda: 4, margin }, { rng: new Rng(4) });
      const want = bruteBlackbox(x, n, d, labels, 4, margin, 4);
      expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-14);
      expect(maxAbsDiff(got.grad, want.grad)).toBeLessThan(1e-12);
    }
  });

  it('margin noise comes from the run generator: same seed same loss, margin 0 ignores it', () => {
    const labels = unevenLabels();
    const n = labels.length;
    const x = randomUnit(n, 4, 43);
    const run = (margin: number, seed: number) => blackboxApKernel(x, n, 4, labels, { lambda: 4, margin }, { rng: new Rng(seed) }).loss;
    expect(run(0.3, 5)).toBe(run(0.3, 5));
    expect(run(0.3, 5)).not.toBe(run(0.3, 6));
    expect(run(0, 5)).toBe(run(0, 6));
  });

  it('throws a UserError when no query has a positive', () => {
    const x = randomUnit(3, 2, 1);
    expect(() => blackboxApKernel(x, 3, 2, Int32Array.from([1, 2, 3]), { lambda: 4, margin: 0 }, { rng: new Rng(0) })).toThrow(UserError);
  });
});

describe('blackbox-ap tensor formulation', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('B×B×B comparison ranks with a custom-gradient re-rank equal the kernel (same margin noise)', () => {
    const labels = unevenLabels();
    const n = labels.length;
    const d = 6;
    const x32 = Float32Array.from(randomUnit(n, d, 44));
    const params = { lambda: 4, margin: 0.02 };
    const kernel = blackboxApKernel(Float64Array.from(x32), n, d, labels, params, { rng: new Rng(3) });
    const e = tf.tensor2d(x32, [n, d]);
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => blackboxApTensor(t as tf.Tensor2D, labels, params, { rng: new Rng(3) }).loss)(e);
    expect(Math.abs(value.dataSync()[0]! - kernel.loss)).toBeLessThan(1e-6);
    expect(relErr(grad.dataSync(), kernel.grad)).toBeLessThan(1e-5);
    tf.dispose([e, value, grad]);
  });
});
