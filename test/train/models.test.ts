import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { UserError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { conv3x3, createModel, dense, l2Normalize, maxPool2x2, type ModelSpec } from '../../src/train/models.js';

function randArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** y[n,h,w,o] = Σ xpad[n,h+a,w+b,i]·W[a,b,i,o], 'same' zero padding, in float64. */
function convOracle(x: Float32Array, w: Float32Array, n: number, h: number, wd: number, ci: number, co: number): Float64Array {
  const y = new Float64Array(n * h * wd * co);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < h; r++)
      for (let c = 0; c < wd; c++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let a = 0; a < 3; a++)
            for (let e = 0; e < 3; e++) {
              const rr = r + a - 1;
              const cc = c + e - 1;
              if (rr < 0 || rr >= h || cc < 0 || cc >= wd) continue;
              for (let i = 0; i < ci; i++) s += x[((b * h + rr) * wd + cc) * ci + i]! * w[((a * 3 + e) * ci + i) * co + o]!;
            }
          y[((b * h + r) * wd + c) * co + o] = s;
        }
  return y;
}

const IMAGE: ModelSpec = { kind: 'convnet', inputDim: 10 * 9 * 2, embeddingDim: 5, hidden: 7, imageShape: [10, 9, 2] };

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`models on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
    });

    it.each([
      ['linear', { kind: 'linear', inputDim: 12, embeddingDim: 6, hidden: 8 }],
      ['mlp', { kind: 'mlp', inputDim: 12, embeddingDim: 6, hidden: 8 }],
      ['convnet', IMAGE],
    ] as Array<[string, ModelSpec]>)('%s gives n×embeddingDim unit rows', (_, spec) => {
      const model = createModel(spec, new Rng(3));
      const n = 9;
      const x = randArray(new Rng(4), n * spec.inputDim);
      const y = tf.tidy(() => model.apply(tf.tensor2d(x, [n, spec.inputDim])));
      expect(y.shape).toEqual([n, spec.embeddingDim]);
      const v = y.dataSync();
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < spec.embeddingDim; k++) s += v[i * spec.embeddingDim + k]! ** 2;
        expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
      }
      y.dispose();
      model.dispose();
    });

    it('linear and mlp outputs match a float64 forward pass over their weights', () => {
      const rng = new Rng(11);
      const [din, h, e, n] = [7, 5, 3, 4];
      const x = randArray(rng, n * din);
      const lin = createModel({ kind: 'linear', inputDim: din, embeddingDim: e, hidden: h }, new Rng(1));
      const mlp = createModel({ kind: 'mlp', inputDim: din, embeddingDim: e, hidden: h }, new Rng(1));
      // Non-zero biases so that their use is checked too.
      for (const m of [lin, mlp]) for (const v of m.variables) if (v.shape.length === 1) v.assign(tf.tensor1d(randArray(rng, v.shape[0]!)));
      const read = (m: typeof lin): Float32Array[] => m.variables.map((v) => v.dataSync() as Float32Array);
      const affine = (inp: ArrayLike<number>, rows: number, k: number, m: number, w: Float32Array, b: Float32Array): Float64Array => {
        const out = new Float64Array(rows * m);
        for (let r = 0; r < rows; r++)
          for (let j = 0; j < m; j++) {
            let s = b[j]!;
            for (let t = 0; t < k; t++) s += inp[r * k + t]! * w[t * m + j]!;
            out[r * m + j] = s;
          }
        return out;
      };
      const normalise = (a: Float64Array, rows: number, m: number): Float64Array => {
        for (let r = 0; r < rows; r++) {
          const nrm = Math.hypot(...a.subarray(r * m, (r + 1) * m));
          for (let j = 0; j < m; j++) a[r * m + j]! /= nrm;
        }
        return a;
      };
      const [lw, lb] = read(lin);
      const wantLin = normalise(affine(x, n, din, e, lw!, lb!), n, e);
      const [w1, b1, w2, b2] = read(mlp);
      const hid = affine(x, n, din, h, w1!, b1!).map((v) => Math.max(0, v));
      const wantMlp = normalise(affine(hid, n, h, e, w2!, b2!), n, e);
      const got = (m: typeof lin): Float32Array => tf.tidy(() => m.apply(tf.tensor2d(x, [n, din])).dataSync() as Float32Array);
      expect(maxAbsDiff(got(lin), wantLin)).toBeLessThan(1e-5);
      expect(maxAbsDiff(got(mlp), wantMlp)).toBeLessThan(1e-5);
      lin.dispose();
      mlp.dispose();
    });

    it('the same seed gives the same weights, another seed other weights', () => {
      const spec: ModelSpec = { kind: 'mlp', inputDim: 6, embeddingDim: 3, hidden: 4 };
      const flat = (seed: number): number[] => {
        const m = createModel(spec, new Rng(seed));
        const out = m.variables.flatMap((v) => Array.from(v.dataSync()));
        m.dispose();
        return out;
      };
      expect(flat(5)).toEqual(flat(5));
      expect(flat(5)).not.toEqual(flat(6));
    });

    it('l2Normalize: gradient (I − yyᵀ)/‖x‖, and finite zeros for a zero row', () => {
      const x = tf.tensor2d([
        [3, 4, 0],
        [0, 0, 0],
      ]);
      const c = tf.tensor2d([
        [1, 2, 3],
        [1, 1, 1],
      ]);
      const y = l2Normalize(x);
      expect(Array.from(y.dataSync())).toEqual([0.6, 0.8, 0, 0, 0, 0].map((v) => Math.fround(v)));
      const g = tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(l2Normalize(t as tf.Tensor2D), c)))(x)
        .dataSync();
      // Row 1: y = (0.6, 0.8, 0), ‖x‖ = 5, dL/dx = (c − (c·y) y)/5 with c·y = 2.2.
      const want = [(1 - 2.2 * 0.6) / 5, (2 - 2.2 * 0.8) / 5, 3 / 5];
      expect(maxAbsDiff(g.subarray(0, 3), want)).toBeLessThan(1e-6);
      // Row 2: the clamp is active, y = x / eps, so the gradient is c / eps: large but finite.
      for (const v of g.subarray(3)) expect(Number.isFinite(v)).toBe(true);
    });

    it('dense: value and both gradients match float64 sums', () => {
      const rng = new Rng(8);
      const [n, k, m] = [5, 4, 3];
      const x = randArray(rng, n * k);
      const w = randArray(rng, k * m);
      const b = randArray(rng, m);
      const c = randArray(rng, n * m);
      const xt = tf.tensor2d(x, [n, k]);
      const wt = tf.tensor2d(w, [k, m]);
      const bt = tf.tensor1d(b);
      const ct = tf.tensor2d(c, [n, m]);
      const y = dense(xt, wt, bt).dataSync();
      const [dx, dw, db] = tf
        .grads((a: tf.Tensor, bb: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.mul(dense(a as tf.Tensor2D, bb as tf.Tensor2D, cc as tf.Tensor1D), ct)))([xt, wt, bt])
        .map((t) => t.dataSync());
      const wantY = new Float64Array(n * m);
      const wantDx = new Float64Array(n * k);
      const wantDw = new Float64Array(k * m);
      const wantDb = new Float64Array(m);
      for (let r = 0; r < n; r++)
        for (let j = 0; j < m; j++) {
          wantY[r * m + j] = b[j]!;
          wantDb[j]! += c[r * m + j]!;
          for (let t = 0; t < k; t++) {
            wantY[r * m + j]! += x[r * k + t]! * w[t * m + j]!;
            wantDx[r * k + t]! += c[r * m + j]! * w[t * m + j]!;
            wantDw[t * m + j]! += x[r * k + t]! * c[r * m + j]!;
          }
        }
      expect(maxAbsDiff(y, wantY)).toBeLessThan(1e-5);
      expect(maxAbsDiff(dx!, wantDx)).toBeLessThan(1e-5);
      expect(maxAbsDiff(dw!, wantDw)).toBeLessThan(1e-5);
      expect(maxAbsDiff(db!, wantDb)).toBeLessThan(1e-5);
    });

    it('conv3x3: value and both gradients match a float64 brute-force convolution', () => {
      const rng = new Rng(9);
      const [n, h, wd, ci, co] = [2, 5, 4, 3, 2];
      const x = randArray(rng, n * h * wd * ci);
      const w = randArray(rng, 9 * ci * co);
      const c = randArray(rng, n * h * wd * co);
      const xt = tf.tensor4d(x, [n, h, wd, ci]);
      const wt = tf.tensor4d(w, [3, 3, ci, co]);
      const ct = tf.tensor4d(c, [n, h, wd, co]);
      expect(maxAbsDiff(conv3x3(xt, wt).dataSync(), convOracle(x, w, n, h, wd, ci, co))).toBeLessThan(1e-5);
      // L = Σ c·y is linear in x and in W, so each gradient entry is L at a unit input / weight.
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv3x3(a as tf.Tensor4D, b as tf.Tensor4D), ct)))([xt, wt]);
      const loss = (xx: Float32Array, ww: Float32Array): number => convOracle(xx, ww, n, h, wd, ci, co).reduce((s, v, i) => s + v * c[i]!, 0);
      const wantDx = x.map((_, i) =>
        loss(
          Float32Array.from(x, (_v, j) => (j === i ? 1 : 0)),
          w,
        ),
      );
      const wantDw = w.map((_, i) =>
        loss(
          x,
          Float32Array.from(w, (_v, j) => (j === i ? 1 : 0)),
        ),
      );
      expect(maxAbsDiff(dx!.dataSync(), wantDx)).toBeLessThan(1e-4);
      expect(maxAbsDiff(dw!.dataSync(), wantDw)).toBeLessThan(1e-4);
      // The first layer's variant skips dx (its input is data) but keeps dW.
      const [dx0, dw0] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv3x3(a as tf.Tensor4D, b as tf.Tensor4D, false), ct)))([xt, wt]);
      expect(Array.from(dx0!.dataSync()).every((v) => v === 0)).toBe(true);
      expect(maxAbsDiff(dw0!.dataSync(), wantDw)).toBeLessThan(1e-4);
    });

    it('maxPool2x2: floor-sized windows, gradient to the first maximum of each window', () => {
      // 1×3×5×1 (odd sides: last row and column dropped); window (0,0) has a tie at 7.
      const img = [
        [7, 7, 1, 2, 9],
        [0, 3, 4, 2, 9],
        [5, 5, 5, 5, 9],
      ];
      const x = tf.tensor4d(img.flat(), [1, 3, 5, 1]);
      const y = maxPool2x2(x);
      expect(y.shape).toEqual([1, 1, 2, 1]);
      expect(Array.from(y.dataSync())).toEqual([7, 4]);
      const dy = tf.tensor4d([10, 20], [1, 1, 2, 1]);
      const g = tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(maxPool2x2(t as tf.Tensor4D), dy)))(x)
        .dataSync();
      const want = new Array(15).fill(0);
      want[0] = 10; // first of the tied 7s
      want[5 + 2] = 20; // the 4
      expect(Array.from(g)).toEqual(want);
    });

    it('convnet gradients reach every weight', () => {
      const model = createModel(IMAGE, new Rng(2));
      const x = tf.tensor2d(randArray(new Rng(3), 4 * IMAGE.inputDim), [4, IMAGE.inputDim]);
      const c = tf.tensor2d(randArray(new Rng(4), 4 * IMAGE.embeddingDim), [4, IMAGE.embeddingDim]);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x), c)), model.variables);
      for (const v of model.variables) {
        const g = grads[v.name]!.dataSync();
        expect(g.every((t) => Number.isFinite(t))).toBe(true);
        expect(g.some((t) => t !== 0)).toBe(true);
      }
      model.dispose();
    });
  });
}

describe('model errors', () => {
  it('convnet on flat features, or an image shape that does not match, is a UserError', () => {
    expect(() => createModel({ kind: 'convnet', inputDim: 32, embeddingDim: 4, hidden: 4 }, new Rng(0))).toThrow(UserError);
    expect(() => createModel({ kind: 'convnet', inputDim: 32, embeddingDim: 4, hidden: 4 }, new Rng(0))).toThrow(/convnet.*flat 32-d features/);
    expect(() => createModel({ kind: 'convnet', inputDim: 30, embeddingDim: 4, hidden: 4, imageShape: [4, 4, 2] }, new Rng(0))).toThrow(
      /4×4×2 does not match the 30 features/,
    );
    expect(() => createModel({ kind: 'mlp', inputDim: 3, embeddingDim: 0, hidden: 4 }, new Rng(0))).toThrow(/embeddingDim: 0/);
  });

  it('rows of the wrong width are a UserError', async () => {
    await selectBackend('wasm');
    const m = createModel({ kind: 'linear', inputDim: 3, embeddingDim: 2, hidden: 1 }, new Rng(0));
    expect(() => m.apply(tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(/4 features; the model was built for 3/);
    m.dispose();
  });
});
