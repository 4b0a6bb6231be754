import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { Adam } from '../../src/train/adam.js';

// A tiny linear model y = X·W with loss ½‖XW − Y‖², whose gradient Xᵀ(XW − Y) is written by hand.
const X = [
  [1, 2, 0.5],
  [0, -1, 3],
  [2, 0.5, -1],
  [-1, 1, 1],
];
const Y = [
  [1, 0],
  [0, 1],
  [1, 1],
  [-1, 0.5],
];
const W0 = [
  [2, -1.5],
  [0.02, 3],
  [-2.5, 0.01],
];

function gradient(w: number[][]): number[][] {
  const r = X.map((row, i) => [0, 1].map((j) => row.reduce((s, v, k) => s + v * w[k]![j]!, 0) - Y[i]![j]!));
  return w.map((wr, k) => wr.map((_, j) => X.reduce((s, row, i) => s + row[k]! * r[i]![j]!, 0)));
}

/** PyTorch's torch.optim.Adam with weight_decay, in float64, written from its documented update rule. */
function adamOracle(steps: number, lr: number, wd: number): number[][][] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  let w = W0.map((r) => [...r]);
  let m = W0.map((r) => r.map(() => 0));
  let v = W0.map((r) => r.map(() => 0));
  const out: number[][][] = [];
  for (let t = 1; t <= steps; t++) {
    const g = gradient(w).map((r, k) => r.map((gv, j) => gv + wd * w[k]![j]!));
    m = m.map((r, k) => r.map((mv, j) => b1 * mv + (1 - b1) * g[k]![j]!));
    v = v.map((r, k) => r.map((vv, j) => b2 * vv + (1 - b2) * g[k]![j]! ** 2));
    const mHat = m.map((r) => r.map((x) => x / (1 - b1 ** t)));
    const vHat = v.map((r) => r.map((x) => x / (1 - b2 ** t)));
    w = w.map((r, k) => r.map((wv, j) => wv - (lr * mHat[k]![j]!) / (Math.sqrt(vHat[k]![j]!) + eps)));
    out.push(w.map((r) => [...r]));
  }
  return out;
}

function runOurs(steps: number, lr: number, wd: number): number[][][] {
  const w = tf.variable(tf.tensor2d(W0));
  const x = tf.tensor2d(X);
  const y = tf.tensor2d(Y);
  const adam = new Adam([w], { lr, weightDecay: wd });
  const out: number[][][] = [];
  for (let t = 0; t < steps; t++) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(tf.matMul(x, w), y)))) as tf.Scalar, [w]);
      adam.step([grads[w.name]!]);
    });
    out.push(w.arraySync() as number[][]);
  }
  adam.dispose();
  w.dispose();
  return out;
}

function maxDiff(a: number[][][], b: number[][][]): number {
  return Math.max(...a.flatMap((s, t) => s.flatMap((r, k) => r.map((v, j) => Math.abs(v - b[t]![k]![j]!)))));
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`Adam on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
    });

    it('the gradient written by hand is the gradient tfjs computes', () => {
      const w = tf.variable(tf.tensor2d(W0));
      const { grads } = tf.variableGrads(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(tf.matMul(tf.tensor2d(X), w), tf.tensor2d(Y))))) as tf.Scalar, [w]);
      expect(maxDiff([grads[w.name]!.arraySync() as number[][]], [gradient(W0)])).toBeLessThan(1e-5);
      w.dispose();
    });

    it('matches float64 PyTorch-style Adam step by step, with and without weight decay', () => {
      for (const wd of [0, 0.5]) {
        const ours = runOurs(4, 0.1, wd);
        expect(maxDiff(ours, adamOracle(4, 0.1, wd))).toBeLessThan(2e-6);
      }
    });

    it('weight decay changes the update (the oracle says by how much)', () => {
      const want = maxDiff(adamOracle(4, 0.1, 0), adamOracle(4, 0.1, 0.5));
      // Adam normalises the step, so decay shows through the moments' ratios: small, yet
      // three orders of magnitude above float32 noise on these weights.
      expect(want).toBeGreaterThan(3e-3);
      expect(Math.abs(maxDiff(runOurs(4, 0.1, 0), runOurs(4, 0.1, 0.5)) - want)).toBeLessThan(1e-5);
    });

    it('with no weight decay, equals tf.train.adam given the same eps', () => {
      const w = tf.variable(tf.tensor2d(W0));
      const opt = tf.train.adam(0.1, 0.9, 0.999, 1e-8);
      const x = tf.tensor2d(X);
      const y = tf.tensor2d(Y);
      const out: number[][][] = [];
      for (let t = 0; t < 4; t++) {
        opt.minimize(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(tf.matMul(x, w), y)))) as tf.Scalar, false, [w]);
        out.push(w.arraySync() as number[][]);
      }
      // tf.train.adam accumulates βᵗ in float32 variables; ours computes it in float64.
      expect(maxDiff(runOurs(4, 0.1, 0), out)).toBeLessThan(1e-5);
      opt.dispose();
      w.dispose();
    });

    it('keeps no tensors alive between steps', () => {
      const w = tf.variable(tf.tensor2d(W0));
      const adam = new Adam([w], { lr: 0.1, weightDecay: 0.1 });
      const counts: number[] = [];
      for (let t = 0; t < 3; t++) {
        tf.tidy(() => adam.step([tf.onesLike(w)]));
        counts.push(tf.memory().numTensors);
      }
      expect(counts[2]).toBe(counts[0]);
      const before = tf.memory().numTensors;
      adam.dispose();
      expect(tf.memory().numTensors).toBe(before - 2);
      w.dispose();
    });
  });
}
