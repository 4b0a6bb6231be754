import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import smoothAp, { smoothApKernel } from '../../src/losses/smooth-ap.js';
import { smoothApTensor } from '../../src/losses/reference/smooth-ap-tensor.js';
import { batchAveragePrecision } from '../../src/metrics/average-precision.js';
import { selectBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/core/rng.js';
import { UserError } from '../../src/core/errors.js';
import { bruteSmoothAp, centralDiff, dot, maxAbsDiff, meanOfValid, randomUnit, relErr, unevenLabels } from './oracles.js';

const ctx = { rng: new Rng(0) };

/**
 * The paper's published PyTorch module (SmoothAP.forward), transliterated index by index: it
 * takes no labels; the batch is num_id sorted blocks of `group` rows and every position in a
 * block counts as a positive, the query included.
 */
function paperSmoothAp(x: Float64Array, batchSize: number, numId: number, featDims: number, anneal: number): number {
  const sigmoid = (t: number) => 1 / (1 + Math.exp(Math.min(50, Math.max(-50, -t / anneal))));
  const simAll = (a: number, b: number) => dot(x, featDims, a, b);
  // sim_all_rk[q][i] = Σ_j sigmoid(sim_all[q][j] − sim_all[q][i]) · (1 − eye)[i][j] + 1
  const simAllRk = (q: number, i: number) => {
    let s = 0;
    for (let j = 0; j < batchSize; j++) s += sigmoid(simAll(q, j) - simAll(q, i)) * (i === j ? 0 : 1);
    return s + 1;
  };
  const group = batchSize / numId;
  let ap = 0;
  for (let ind = 0; ind < numId; ind++) {
    // xs[ind] = rows ind·group ..; sim_pos = bmm(xs, xsᵀ); sim_pos_rk[ind][a][i] over j in the block.
    const row = (a: number) => ind * group + a;
    let posDivide = 0;
    for (let a = 0; a < group; a++) {
      for (let i = 0; i < group; i++) {
        let s = 0;
        for (let j = 0; j < group; j++) s += sigmoid(simAll(row(a), row(j)) - simAll(row(a), row(i))) * (i === j ? 0 : 1);
        const simPosRk = s + 1;
        posDivide += simPosRk / simAllRk(row(a), row(i));
      }
    }
    ap += posDivide / group / batchSize;
  }
  return 1 - ap;
}

describe('smooth-ap kernel', () => {
  for (const includeQuery of [true, false]) {
    it(`matches the brute-force formula on uneven, unsorted classes (includeQuery=${includeQuery})`, () => {
      const labels = unevenLabels();
      const n = labels.length;
      const d = 6;
      const x = randomUnit(n, d, 1);
      // tau=0.001 puts rows spanning > 1200·tau on the exact per-pair exp path.
      for (const tau of [0.001, 0.01, 0.1]) {
        const got = smoothApKernel(x, n, d, labels, { tau, includeQuery }, ctx);
        const want = bruteSmoothAp(x, n, d, labels, tau, includeQuery);
        expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-13);
        expect([...got.apPerQuery!].map(Number.isNaN)).toEqual([...want.ap].map(Number.isNaN));
        expect(
          maxAbsDiff(
            got.apPerQuery!.filter((v) => !Number.isNaN(v)),
            want.ap.filter((v) => !Number.isNaN(v)),
          ),
        ).toBeLessThan(1e-13);
      }
    });

    it(`gradient equals central finite differences (includeQuery=${includeQuery})`, () => {
      const labels = unevenLabels();
      const n = labels.length;
      const d = 4;
      const x = randomUnit(n, d, 2);
      const params = { tau: 0.1, includeQuery };
      const { grad } = smoothApKernel(x, n, d, labels, params, ctx);
      const fd = centralDiff((y) => smoothApKernel(y, n, d, labels, params, ctx).loss, x);
      expect(relErr(grad, fd)).toBeLessThan(1e-6);
    });
  }

  it('gradient equals finite differences with classes of 1..9 members (positives handled four at a time and singly)', () => {
    // 9, 6, 5, 2 and 1 members: |P| of 9/8, 6/5, 5/4, 2/1 exercises every split of the gradient pass.
    const sizes = [9, 6, 5, 2, 1];
    const labels = Int32Array.from(sizes.flatMap((c, k) => Array.from({ length: c }, () => k)));
    new Rng(4).shuffle(labels);
    const n = labels.length;
    const d = 4;
    const x = randomUnit(n, d, 12);
    for (const includeQuery of [true, false]) {
      const params = { tau: 0.1, includeQuery };
      const { grad } = smoothApKernel(x, n, d, labels, params, ctx);
      const fd = centralDiff((y) => smoothApKernel(y, n, d, labels, params, ctx).loss, x);
      expect(relErr(grad, fd)).toBeLessThan(1e-6);
    }
  });

  it('gradient equals finite differences on rows too wide for the factored exp (tau=0.001)', () => {
    const labels = unevenLabels();
    const n = labels.length;
    const d = 3;
    const x = randomUnit(n, d, 8);
    const params = { tau: 0.001, includeQuery: true };
    const { grad } = smoothApKernel(x, n, d, labels, params, ctx);
    expect([...grad].some((v) => Math.abs(v) > 1e-3)).toBe(true);
    const fd = centralDiff((y) => smoothApKernel(y, n, d, labels, params, ctx).loss, x, 1e-8);
    expect(relErr(grad, fd)).toBeLessThan(1e-5);
  });

  it("equals the paper's PyTorch module on sorted equal-size class blocks (includeQuery=true)", () => {
    for (const [numId, group, d, tau] of [
      [4, 4, 8, 0.01],
      [3, 5, 16, 0.05],
      [8, 2, 5, 0.01],
    ] as const) {
      const n = numId * group;
      const x = randomUnit(n, d, n + d);
      const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / group));
      const got = smoothApKernel(x, n, d, labels, { tau, includeQuery: true }, ctx).loss;
      expect(Math.abs(got - paperSmoothAp(x, n, numId, d, tau))).toBeLessThan(1e-13);
    }
  });

  it('gradient is exactly zero where every sigmoid is clamped, and the value still matches', () => {
    const labels = Int32Array.from([0, 1, 0, 1, 2, 2, 0]);
    const n = labels.length;
    const d = 3;
    const x = randomUnit(n, d, 5);
    const tau = 1e-6;
    let minGap = Infinity;
    for (let q = 0; q < n; q++) {
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) minGap = Math.min(minGap, Math.abs(dot(x, d, q, i) - dot(x, d, q, j)));
    }
    expect(minGap).toBeGreaterThan(50 * tau); // precondition: every exponent is past the clamp
    for (const includeQuery of [true, false]) {
      const got = smoothApKernel(x, n, d, labels, { tau, includeQuery }, ctx);
      expect([...got.grad].every((v) => v === 0)).toBe(true);
      expect(Math.abs(got.loss - bruteSmoothAp(x, n, d, labels, tau, includeQuery).loss)).toBeLessThan(1e-14);
    }
  });

  for (const includeQuery of [true, false]) {
    it(`estimate tends to the exact AP as tau → 0 (same convention, includeQuery=${includeQuery})`, () => {
      const labels = unevenLabels();
      const n = labels.length;
      const d = 8;
      const x = randomUnit(n, d, 3);
      const exact = batchAveragePrecision(x, n, d, labels, includeQuery);
      const gap = (tau: number) => {
        const est = smoothApKernel(x, n, d, labels, { tau, includeQuery }, ctx).apPerQuery!;
        let worst = 0;
        for (let q = 0; q < n; q++) {
          expect(Number.isNaN(est[q]!)).toBe(Number.isNaN(exact[q]!));
          if (!Number.isNaN(exact[q]!)) worst = Math.max(worst, Math.abs(est[q]! - exact[q]!));
        }
        return worst;
      };
      const gaps = [1, 0.1, 0.01, 1e-6].map(gap);
      expect(gaps[0]).toBeGreaterThan(gaps[1]!);
      expect(gaps[1]).toBeGreaterThan(gaps[2]!);
      expect(gaps[3]).toBeLessThan(1e-12);
    });
  }

  it('runs at B=1024 and matches brute force on sampled queries and a directional derivative', () => {
    const n = 1024;
    const d = 8;
    const rng = new Rng(9);
    const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 4));
    rng.shuffle(labels);
    const x = randomUnit(n, d, 4);
    const params = { tau: 0.1, includeQuery: false };
    const out = smoothApKernel(x, n, d, labels, params, ctx);
    for (const q of [0, 17, 511, 1023]) {
      const others = [...labels.keys()].filter((j) => j !== q && labels[j] === labels[q]);
      let sum = 0;
      for (const i of others) {
        const si = dot(x, d, q, i);
        let rAll = 1;
        let rPos = 1;
        for (let j = 0; j < n; j++) {
          if (j === i || j === q) continue;
          const sg = 1 / (1 + Math.exp(-(dot(x, d, q, j) - si) / 0.1));
          rAll += sg;
          if (labels[j] === labels[q]) rPos += sg;
        }
        sum += rPos / rAll;
      }
      expect(Math.abs(out.apPerQuery![q]! - sum / others.length)).toBeLessThan(1e-12);
    }
    expect(Math.abs(out.loss - (1 - meanOfValid(out.apPerQuery!)))).toBeLessThan(1e-15);
    const v = randomUnit(n, d, 10);
    const h = 1e-5;
    const shifted = (sign: number) =>
      smoothApKernel(
        x.map((xi, k) => xi + sign * h * v[k]!),
        n,
        d,
        labels,
        params,
        ctx,
      ).loss;
    const fd = (shifted(1) - shifted(-1)) / (2 * h);
    let analytic = 0;
    for (let k = 0; k < x.length; k++) analytic += out.grad[k]! * v[k]!;
    expect(Math.abs(fd - analytic)).toBeLessThan(1e-6 * Math.abs(analytic));
  });

  it('throws a UserError when no query has a positive, instead of returning 0', () => {
    const x = randomUnit(4, 3, 1);
    expect(() => smoothApKernel(x, 4, 3, Int32Array.from([0, 1, 2, 3]), { tau: 0.01, includeQuery: true }, ctx)).toThrow(UserError);
    expect(() => smoothApKernel(x, 4, 3, Int32Array.from([0, 1, 2, 3]), { tau: 0.01, includeQuery: false }, ctx)).toThrow(
      /no query in the batch of 4 has another item of its class/,
    );
  });
});

describe('smooth-ap through tfjs', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('fusedCompute: tf.grad of plugin.compute equals the float32-product kernel gradient, scaled by the upstream gradient', () => {
    const labels = unevenLabels();
    const n = labels.length;
    const d = 5;
    const x32 = Float32Array.from(randomUnit(n, d, 6));
    const params = { tau: 0.05, includeQuery: true };
    // Training runs the kernel with float32 products; the float64 one differs only by their rounding.
    const kernel = smoothApKernel(Float64Array.from(x32), n, d, labels, params, { ...ctx, precision: 'float32' });
    const exact = smoothApKernel(Float64Array.from(x32), n, d, labels, params, ctx);
    expect(Math.abs(kernel.loss - exact.loss)).toBeLessThan(1e-5);
    expect(relErr(kernel.grad, exact.grad)).toBeLessThan(1e-4);
    const e = tf.tensor2d(x32, [n, d]);
    let ap: Float64Array | undefined;
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => {
      const out = smoothAp.compute(t as tf.Tensor2D, labels, params, ctx);
      ap = out.apPerQuery;
      return tf.mul(out.loss, 3) as tf.Scalar;
    })(e);
    expect(Math.abs(value.dataSync()[0]! - 3 * kernel.loss)).toBeLessThan(1e-6);
    expect(
      relErr(
        grad.dataSync(),
        kernel.grad.map((v) => 3 * v),
      ),
    ).toBeLessThan(1e-6);
    expect(
      maxAbsDiff(
        ap!.filter((v) => !Number.isNaN(v)),
        kernel.apPerQuery!.filter((v) => !Number.isNaN(v)),
      ),
    ).toBe(0);
    tf.dispose([e, value, grad]);
  });

  // B=224 under the paper's convention; the other convention at a smaller B keeps the file quick.
  for (const [includeQuery, n] of [
    [true, 224],
    [false, 96],
  ] as const) {
    it(`fused kernel equals the B×B×B tensor formulation at B=${n} (includeQuery=${includeQuery})`, () => {
      const d = 32;
      const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 4));
      new Rng(3).shuffle(labels);
      const x32 = Float32Array.from(randomUnit(n, d, 7));
      const params = { tau: 0.1, includeQuery };
      const kernel = smoothApKernel(Float64Array.from(x32), n, d, labels, params, ctx);
      const e = tf.tensor2d(x32, [n, d]);
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => smoothApTensor(t as tf.Tensor2D, labels, params, ctx).loss)(e);
      expect(Math.abs(value.dataSync()[0]! - kernel.loss) / kernel.loss).toBeLessThan(1e-5);
      expect(relErr(grad.dataSync(), kernel.grad)).toBeLessThan(1e-5);
      const direct = smoothApTensor(e, labels, params, ctx);
      expect(maxAbsDiff(direct.apPerQuery!, kernel.apPerQuery!)).toBeLessThan(1e-5);
      tf.dispose([e, value, grad, direct.loss]);
    });
  }
});
