import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fastAp, { fastApKernel } from '../../src/losses/fast-ap.js';
import { fastApTensor } from '../../src/losses/reference/fast-ap-tensor.js';
import { selectBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/core/rng.js';
import { UserError } from '../../src/core/errors.js';
import { centralDiff, dot, maxAbsDiff, meanOfValid, randomUnit, relErr, unevenLabels } from './oracles.js';
import { fastApExpand, fastApPackSymmetric, fastApRows, tableSize } from '../../src/losses/kernels/fast-ap-rows.js';
import { gram, gramBackward } from '../../src/losses/kernels/gram.js';
import { groupLabels, positivesOf } from '../../src/losses/kernels/batch.js';
import { simdMatmulAvailable } from '../../src/losses/kernels/matmul.js';
import { packModule, type PackFns } from '../../src/kernels/pack.js';

const ctx = { rng: new Rng(0) };

/** FastAP by the spec: every bin centre, the triangular kernel, histograms and their cumulative sums. */
function bruteFastAp(x: Float64Array, n: number, d: number, labels: Int32Array, bins: number) {
  const delta = 4 / bins;
  const ap = new Float64Array(n).fill(NaN);
  for (let q = 0; q < n; q++) {
    const nPos = [...labels.keys()].filter((j) => j !== q && labels[j] === labels[q]).length;
    if (nPos === 0) continue;
    const hPos = new Array<number>(bins + 1).fill(0);
    const hNeg = new Array<number>(bins + 1).fill(0);
    for (let j = 0; j < n; j++) {
      if (j === q) continue;
      const d2 = 2 - 2 * dot(x, d, q, j);
      for (let l = 0; l <= bins; l++) {
        const k = Math.max(0, 1 - Math.abs(d2 - l * delta) / delta);
        if (labels[j] === labels[q]) hPos[l] += k;
        else hNeg[l] += k;
      }
    }
    let sum = 0;
    for (let l = 0; l <= bins; l++) {
      let cumPos = 0;
      let cumAll = 0;
      for (let m = 0; m <= l; m++) {
        cumPos += hPos[m]!;
        cumAll += hPos[m]! + hNeg[m]!;
      }
      if (hPos[l]! * cumPos > 0 && cumAll > 0) sum += (hPos[l]! * cumPos) / cumAll;
    }
    ap[q] = sum / nPos;
  }
  return { loss: 1 - meanOfValid(ap), ap };
}

describe('fast-ap kernel', () => {
  it('matches the brute-force histograms for several bin counts', () => {
    const labels = unevenLabels();
    const n = labels.length;
    const d = 3;
    const x = randomUnit(n, d, 31);
    for (const bins of [1, 4, 10, 27]) {
      const got = fastApKernel(x, n, d, labels, { bins }, ctx);
      const want = bruteFastAp(x, n, d, labels, bins);
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

  it('handles embeddings that are not unit length (d² outside [0, 4] falls off the end bins)', () => {
    const labels = Int32Array.from([0, 1, 0, 1, 0]);
    const x = randomUnit(5, 3, 32).map((v, k) => v * (0.5 + (k % 3)));
    const got = fastApKernel(x, 5, 3, labels, { bins: 8 }, ctx);
    expect(Math.abs(got.loss - bruteFastAp(x, 5, 3, labels, 8).loss)).toBeLessThan(1e-13);
  });

  it('pairs exactly on the first and last bin centres, and just past them, land where the kernel says', () => {
    // Duplicates (d² = 0, bin 0 exactly), opposites (d² = 4, the last bin exactly), and a copy
    // scaled by 1 + 2⁻²⁰ and its opposite (d² just below 0 and just above 4: partly off the ends).
    const e = 1 + 2 ** -20;
    const rows = [
      [1, 0],
      [1, 0],
      [-1, 0],
      [e, 0],
      [-e, 0],
      [0, 1],
      [0, -1],
      [0.6, 0.8],
    ];
    const x = Float64Array.from(rows.flat());
    const labels = Int32Array.from([0, 0, 1, 0, 1, 2, 2, 0]);
    for (const bins of [1, 2, 4, 10]) {
      const got = fastApKernel(x, 8, 2, labels, { bins }, ctx);
      const want = bruteFastAp(x, 8, 2, labels, bins);
      expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-13);
      expect(maxAbsDiff(got.apPerQuery!, want.ap)).toBeLessThan(1e-13);
    }
  });

  for (const bins of [5, 10, 20]) {
    it(`gradient equals central finite differences (bins=${bins})`, () => {
      const labels = unevenLabels();
      const n = labels.length;
      const d = 4;
      const x = randomUnit(n, d, 33 + bins);
      const { grad } = fastApKernel(x, n, d, labels, { bins }, ctx);
      const fd = centralDiff((y) => fastApKernel(y, n, d, labels, { bins }, ctx).loss, x);
      expect(relErr(grad, fd)).toBeLessThan(1e-6);
    });
  }

  it('declares the standard query convention for its AP estimate', () => {
    expect(fastAp.apConvention!({ bins: 10 })).toEqual({ includeQuery: false });
  });

  it('throws a UserError when no query has a positive', () => {
    const x = randomUnit(3, 2, 1);
    expect(() => fastApKernel(x, 3, 2, Int32Array.from([1, 2, 3]), { bins: 10 }, ctx)).toThrow(UserError);
  });
});

/** Bits of a float64 array, for exact comparisons that also tell −0 from 0 and NaN from NaN. */
const bits = (v: Float64Array) => [...new BigUint64Array(v.buffer, v.byteOffset, v.length)];

/** The per-query pass with the products done one after the other: gram, pass, G expanded, gramBackward. */
function stepByStep(x: Float64Array, n: number, d: number, labels: Int32Array, bins: number) {
  const groups = groupLabels(labels);
  const nPos = Int32Array.from({ length: n }, (_, q) => positivesOf(groups, q));
  const queries = nPos.filter((v) => v > 0).length;
  const s = gram(x, n, d, { float32: true });
  const rows = {
    s,
    ld: n,
    n,
    slots: new Uint16Array(n * n),
    tables: new Float64Array(n * tableSize(bins)),
    classOf: groups.classOf,
    nPos,
    queries,
    bins,
    ap: new Float64Array(n),
  };
  fastApRows(rows, 0, n);
  const g = fastApExpand(rows, new Float64Array(n * n));
  const nonZero = g.filter((v) => v !== 0).length;
  return { ap: rows.ap, grad: gramBackward(g, x, n, d, { float32: true }), nonZero, rows };
}

describe('fast-ap kernel with float32 products (training)', () => {
  const f32 = { rng: new Rng(0), precision: 'float32' as const };

  it('matches the brute-force histograms to float32 rounding, and the float64 gradient', () => {
    // 160 × 200: large enough for the worker threads (4 M multiply-adds); 13 × 5: odd padding.
    for (const [n, d, bins] of [
      [160, 200, 10],
      [13, 5, 4],
      [37, 9, 27],
    ] as const) {
      const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 4) % Math.ceil(n / 5));
      const x = randomUnit(n, d, n + d);
      const got = fastApKernel(x, n, d, labels, { bins }, f32);
      const want = bruteFastAp(x, n, d, labels, bins);
      expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5);
      expect(maxAbsDiff(got.apPerQuery!, want.ap)).toBeLessThan(1e-5);
      expect(relErr(got.grad, fastApKernel(x, n, d, labels, { bins }, ctx).grad)).toBeLessThan(1e-4);
    }
  });

  it('gives the same bits as the products and the pass run one after the other, dense or sparse G, into a given gradOut or not', () => {
    const n = 150;
    const d = 180;
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 40);
    const spread = randomUnit(n, d, 5);
    // Rows of length 27: most pairs' d² lie far outside [0, 4], off every bin, so most gradient
    // entries are 0 and the backward pass takes the sparse product.
    const far = spread.map((v) => 27 * v);
    for (const [x, sparse] of [
      [spread, false],
      [far, true],
    ] as const) {
      for (const bins of [10, 3]) {
        const want = stepByStep(x, n, d, labels, bins);
        expect(want.nonZero <= (n * n) / 16).toBe(sparse);
        const gradOut = new Float64Array(n * d + 3).fill(7);
        for (const got of [fastApKernel(x, n, d, labels, { bins }, f32), fastApKernel(x, n, d, labels, { bins }, { ...f32, gradOut })]) {
          expect(bits(got.apPerQuery!)).toEqual(bits(want.ap));
          expect(bits(got.grad)).toEqual(bits(want.grad));
        }
        expect(gradOut[n * d]).toBe(7);
      }
    }
  });

  it('a NaN embedding: its pairs fall in no bin, as in the step-by-step pass (the wasm histogram loop slots them apart)', () => {
    const n = 64;
    const d = 40;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 16);
    const x = randomUnit(n, d, 9);
    x[5 * d + 3] = NaN;
    const want = stepByStep(x, n, d, labels, 10);
    const got = fastApKernel(x, n, d, labels, { bins: 10 }, f32);
    // Every other query still has a finite AP, the same as step by step (NaN equals NaN here).
    expect([...want.ap].filter((v, q) => q !== 5 && !Number.isFinite(v))).toEqual([]);
    expect([...got.apPerQuery!]).toEqual([...want.ap]);
    expect([...got.grad]).toEqual([...want.grad]);
  });

  it('packs G + Gᵀ from the pass: each entry g_ij + g_ji rounded once to float32, in MR-row panels, padding zero', () => {
    const labels = unevenLabels();
    const n = labels.length;
    const { rows } = stepByStep(randomUnit(n, 6, 40), n, 6, labels, 10);
    const g = fastApExpand(rows, new Float64Array(n * n));
    const [mr, kp] = [4, Math.ceil(n / 4) * 4];
    const panels = Math.ceil(n / mr);
    const want = new Float32Array(panels * mr * kp);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) want[Math.floor(i / mr) * mr * kp + ((j >> 2) * mr + (i % mr)) * 4 + (j & 3)] = g[i * n + j]! + g[j * n + i]!;
    // In JS, and with the wasm slotSums on a shared memory holding the slots, tables and panels.
    const mem = new (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer } } }).WebAssembly.Memory({
      initial: 4,
      maximum: 64,
      shared: true,
    });
    const wa = globalThis as unknown as {
      WebAssembly: { Instance: new (m: object, i: object) => { exports: unknown }; Module: new (b: Uint8Array) => object };
    };
    const fns = new wa.WebAssembly.Instance(new wa.WebAssembly.Module(packModule(64)), { env: { mem } }).exports as PackFns;
    const shared = {
      n,
      bins: rows.bins,
      slots: new Uint16Array(mem.buffer, 1000, n * n),
      tables: new Float64Array(mem.buffer, 8000, rows.tables.length),
    };
    shared.slots.set(rows.slots);
    shared.tables.set(rows.tables);
    for (const [f, src, wasm] of [
      [new Float32Array(want.length + 8), rows, undefined],
      [new Float32Array(mem.buffer, 100_000, want.length + 8), shared, fns],
    ] as const) {
      f.fill(NaN);
      let nz = 0;
      for (let r0 = 0; r0 < n; r0 += 8) nz += fastApPackSymmetric(src, f, 4, kp, mr, r0, Math.min(n, r0 + 8), wasm);
      expect([...f.subarray(4, 4 + want.length)]).toEqual([...want]);
      expect(Number.isNaN(f[3]!) && Number.isNaN(f[4 + want.length]!)).toBe(true);
      expect(nz).toBe(g.filter((v) => v !== 0).length);
    }
  });

  it('uses the SIMD engine here (otherwise the tests above only exercise the portable path)', () => {
    expect(simdMatmulAvailable()).toBe(true);
  });
});

describe('fast-ap tensor formulation', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('tensor formulation (loss, per-query AP and tf.grad) equals the kernel', () => {
    const labels = unevenLabels();
    const n = labels.length;
    const d = 6;
    const x32 = Float32Array.from(randomUnit(n, d, 34));
    const params = { bins: 10 };
    const kernel = fastApKernel(Float64Array.from(x32), n, d, labels, params, ctx);
    const e = tf.tensor2d(x32, [n, d]);
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => fastApTensor(t as tf.Tensor2D, labels, params, ctx).loss)(e);
    expect(Math.abs(value.dataSync()[0]! - kernel.loss)).toBeLessThan(1e-5);
    expect(relErr(grad.dataSync(), kernel.grad)).toBeLessThan(1e-4);
    const direct = fastApTensor(e, labels, params, ctx);
    const valid = (v: Float64Array) => v.filter((a) => !Number.isNaN(a));
    expect(maxAbsDiff(valid(direct.apPerQuery!), valid(kernel.apPerQuery!))).toBeLessThan(1e-5);
    tf.dispose([e, value, grad, direct.loss]);
  });
});
