import * as tf from '@tensorflow/tfjs';
import type { LossPlugin } from '../types.js';
import { batchMasks, perQueryOutput } from './masks.js';
import { noPositivesError } from '../kernels/batch.js';

/**
 * Blackbox-AP the straightforward tensor way: ranks by B×B×B comparisons (rank_i = #{j : s_j ≥ s_i}),
 * and a custom gradient that re-ranks s + λ·∂L/∂r, as the paper's TrueRanker does. The margin
 * noise is drawn in the same order as the fused kernel's, so both see the same shifted scores.
 * Test oracle and `bench perf` baseline.
 */
export const blackboxApTensor: LossPlugin['compute'] = (embeddings, labels, params, ctx) => {
  const lambda = params.lambda as number;
  const margin = params.margin as number;
  const n = labels.length;
  const m = batchMasks(labels, true);
  if (m.queries === 0) throw noPositivesError('blackbox-ap', n);
  const shift = new Float32Array(n * n);
  if (margin > 0) {
    for (let k = 0; k < n * n; k++) {
      const half = (margin * Math.abs(ctx.rng.normal())) / 2;
      shift[k] = m.positive[k] ? -half : half;
    }
  }
  // rank[q, i] = Σ_j [s_qj ≥ s_qi]; rankPos the same over positives j.
  const ranks = (s: tf.Tensor, pos: tf.Tensor) => {
    const atLeast = tf.greaterEqual(s.reshape([n, 1, n]), s.reshape([n, n, 1])).cast('float32');
    return { all: tf.sum(atLeast, 2), pos: tf.sum(tf.mul(atLeast, pos.reshape([n, 1, n])), 2) };
  };
  let apValues: Float64Array | undefined;
  const apLoss = tf.customGrad(((s: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    const pos = tf.tensor2d(m.positive, [n, n]);
    const valid = tf.tensor1d(m.valid);
    const count = tf.tensor1d(m.positiveCountOrOne);
    const { all, pos: rankPos } = ranks(s, pos);
    const ap = tf.div(tf.sum(tf.mul(tf.div(rankPos, all), pos), 1), count);
    apValues = Float64Array.from(ap.dataSync());
    save([s, pos, valid, count, all, rankPos]);
    return {
      value: tf.sub(1, tf.div(tf.sum(tf.mul(ap, valid)), m.queries)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s0, p, v, c, a, rp] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        // r = rank/B; L = 1 − (1/Q) Σ_q (1/|P|) Σ_i rank⁺_i/(B·r_i) ⇒ ∂L/∂r_i = rank⁺_i/(Q·|P|·B·r_i²).
        const r = tf.div(a, n);
        const g = tf.div(tf.mul(tf.mul(rp, p), v.reshape([n, 1])), tf.mul(tf.mul(tf.square(r), c.reshape([n, 1])), m.queries * n));
        const moved = ranks(tf.add(s0, tf.mul(lambda, g)), p).all;
        return tf.mul(dy, tf.div(tf.neg(tf.sub(r, tf.div(moved, n))), lambda));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const loss = tf.tidy(() => {
    const s = tf.add(tf.matMul(embeddings, embeddings, false, true), tf.tensor2d(shift, [n, n]));
    return apLoss(s) as tf.Scalar;
  });
  return { loss, apPerQuery: perQueryOutput(apValues!, m.valid) };
};
