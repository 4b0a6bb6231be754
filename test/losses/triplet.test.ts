import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { tripletKernel, MINING } from '../../src/losses/triplet.js';
import { tripletTensor } from '../../src/losses/reference/triplet-tensor.js';
import { selectBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/core/rng.js';
import { UserError } from '../../src/core/errors.js';
import { centralDiff, euclid, randomUnit, relErr, unevenLabels } from './oracles.js';

const ctx = { rng: new Rng(0) };

/** Every triplet enumerated with explicit distances, mined by the spec's rule for t = d_an − d_ap. */
function bruteTriplet(x: Float64Array, n: number, d: number, labels: Int32Array, margin: number, mining: string) {
  const losses: number[] = [];
  for (let a = 0; a < n; a++) {
    const ps = [...labels.keys()].filter((p) => p !== a && labels[p] === labels[a]);
    const ns = [...labels.keys()].filter((q) => labels[q] !== labels[a]);
    if (ps.length === 0 || ns.length === 0) continue;
    if (mining === 'batch-hard') {
      const dap = Math.max(...ps.map((p) => euclid(x, d, a, p)));
      const dan = Math.min(...ns.map((q) => euclid(x, d, a, q)));
      losses.push(dap - dan + margin);
      continue;
    }
    for (const p of ps) {
      for (const q of ns) {
        const t = euclid(x, d, a, q) - euclid(x, d, a, p);
        const keep = mining === 'all' ? t <= margin : mining === 'hard' ? t <= 0 : t > 0 && t <= margin;
        if (keep) losses.push(margin - t);
      }
    }
  }
  const positive = losses.filter((l) => l > 0);
  return { loss: positive.length ? positive.reduce((s, l) => s + l, 0) / positive.length : 0, count: positive.length };
}

describe('triplet kernel', () => {
  for (const mining of MINING) {
    it(`${mining}: matches brute-force mining and loss for several margins`, () => {
      const labels = unevenLabels();
      const n = labels.length;
      const d = 5;
      const x = randomUnit(n, d, 21);
      for (const margin of [0, 0.1, 0.3, 1]) {
        const want = bruteTriplet(x, n, d, labels, margin, mining);
        const got = tripletKernel(x, n, d, labels, { margin, mining }, ctx);
        expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-12);
      }
      // The comparison above means something only if this data selects triplets for the default margin.
      expect(bruteTriplet(x, n, d, labels, 0.3, mining).count).toBeGreaterThan(0);
    });

    it(`${mining}: gradient equals central finite differences`, () => {
      const labels = unevenLabels();
      const n = labels.length;
      const d = 4;
      const x = randomUnit(n, d, 22);
      const params = { margin: 0.3, mining };
      const { grad } = tripletKernel(x, n, d, labels, params, ctx);
      const fd = centralDiff((y) => tripletKernel(y, n, d, labels, params, ctx).loss, x);
      expect(relErr(grad, fd)).toBeLessThan(1e-6);
    });
  }

  it('returns 0 with a zero gradient when no selected triplet has a positive loss', () => {
    const x = Float64Array.from([1, 0, 0.999, 0.01, -1, 0, -0.999, -0.01]);
    const labels = Int32Array.from([0, 0, 1, 1]);
    for (const mining of MINING) {
      const out = tripletKernel(x, 4, 2, labels, { margin: 0.1, mining }, ctx);
      expect(out.loss).toBe(0);
      expect([...out.grad].every((v) => v === 0)).toBe(true);
    }
  });

  it('throws when the batch has no valid triplet at all', () => {
    const x = randomUnit(4, 3, 1);
    expect(() => tripletKernel(x, 4, 3, Int32Array.from([0, 1, 2, 3]), { margin: 0.1, mining: 'all' }, ctx)).toThrow(UserError);
    expect(() => tripletKernel(x, 4, 3, Int32Array.from([5, 5, 5, 5]), { margin: 0.1, mining: 'batch-hard' }, ctx)).toThrow(
      /no anchor in the batch of 4 has both a positive and a negative/,
    );
  });
});

describe('triplet tensor formulation', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  for (const mining of MINING) {
    it(`${mining}: tensor formulation (loss and tf.grad) equals the kernel`, () => {
      const labels = unevenLabels();
      const n = labels.length;
      const d = 6;
      const x32 = Float32Array.from(randomUnit(n, d, 23));
      const params = { margin: 0.3, mining };
      const kernel = tripletKernel(Float64Array.from(x32), n, d, labels, params, ctx);
      const e = tf.tensor2d(x32, [n, d]);
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tripletTensor(t as tf.Tensor2D, labels, params, ctx).loss)(e);
      expect(Math.abs(value.dataSync()[0]! - kernel.loss)).toBeLessThan(1e-5);
      expect(relErr(grad.dataSync(), kernel.grad)).toBeLessThan(1e-4);
      tf.dispose([e, value, grad]);
    });
  }
});
