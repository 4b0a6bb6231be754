import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { defineLoss, Rng, UserError, type LossPlugin } from '../../src/index.js';
import { LossRegistry } from '../../src/losses/registry.js';

describe('defineLoss', () => {
  // loss = scale · Σ x², gradient 2·scale·x: simple enough to check by hand.
  const squares = defineLoss({
    name: 'squares',
    description: 'scale times the sum of squares',
    params: [{ name: 'scale', type: 'number', default: 1, min: 0, doc: 'multiplier' }],
    kernel(x, n, d, labels, params) {
      let loss = 0;
      const grad = new Float64Array(n * d);
      for (let i = 0; i < n * d; i++) {
        loss += params.scale * x[i]! * x[i]!;
        grad[i] = 2 * params.scale * x[i]!;
      }
      return { loss, grad };
    },
  });

  it('with only a kernel, compute is the kernel as a tfjs op with its gradient', async () => {
    await selectBackend('cpu');
    const e = tf.tensor2d([
      [1, 2],
      [3, -1],
    ]);
    const { value, grad } = tf.valueAndGrad(
      (t: tf.Tensor) => squares.compute(t as tf.Tensor2D, Int32Array.from([0, 0]), { scale: 3 }, { rng: new Rng(0), tf }).loss,
    )(e);
    expect(value.dataSync()[0]).toBeCloseTo(3 * (1 + 4 + 9 + 1), 5);
    expect(Array.from(grad.dataSync())).toEqual([6, 12, 18, -6]);
  });

  it('returns the object it was given when compute is there (a plain plugin object)', () => {
    const def = { name: 'x', description: 'x', params: [], compute: () => ({ loss: tf.scalar(0) }) };
    expect(defineLoss(def)).toBe(def);
  });

  it('with neither compute nor kernel, a UserError naming the loss', () => {
    expect(() => defineLoss({ name: 'empty', description: 'x', params: [] })).toThrow(
      new UserError('defineLoss("empty"): give "compute" (tfjs ops) or "kernel" (float64 with its gradient)'),
    );
  });

  it('its result registers like any plugin', () => {
    const reg = new LossRegistry();
    reg.register(squares as LossPlugin, 'test');
    expect(reg.get('squares').params.map((p) => p.name)).toEqual(['scale']);
  });
});
