import * as tf from '@tensorflow/tfjs';
import type { LossPlugin } from '../types.js';
import { batchMasks, detached, perQueryOutput } from './masks.js';
import { noPositivesError } from '../kernels/batch.js';

/**
 * FastAP the straightforward tensor way: the triangular kernel of every (query, item, bin) in a
 * B×B×(bins+1) tensor, histograms by masked sums, cumulative sums for H⁺ and H, and autodiff.
 * Test oracle and `bench perf` baseline.
 */
export const fastApTensor: LossPlugin['compute'] = (embeddings, labels, params) => {
  const bins = params.bins as number;
  const n = labels.length;
  const m = batchMasks(labels, false);
  if (m.queries === 0) throw noPositivesError('fast-ap', n);
  const delta = 4 / bins;
  let apValues: Float64Array | undefined;
  const loss = tf.tidy(() => {
    const d2 = tf.sub(2, tf.mul(2, tf.matMul(embeddings, embeddings, false, true)));
    const centres = tf.mul(tf.range(0, bins + 1, 1, 'float32'), delta).reshape([1, 1, bins + 1]);
    const kernel = tf.relu(tf.sub(1, tf.div(tf.abs(tf.sub(d2.reshape([n, n, 1]), centres)), delta)));
    const pos = tf.tensor2d(m.positive, [n, n]).reshape([n, n, 1]);
    const neg = tf.tensor2d(m.negative, [n, n]).reshape([n, n, 1]);
    const hPos = tf.sum(tf.mul(kernel, pos), 1);
    const hNeg = tf.sum(tf.mul(kernel, neg), 1);
    const cumPos = tf.cumsum(hPos, 1);
    const cumAll = tf.cumsum(tf.add(hPos, hNeg), 1);
    const f = tf.mul(hPos, cumPos);
    const active = detached(tf.logicalAnd(tf.greater(f, 0), tf.greater(cumAll, 0)));
    const safeAll = tf.where(active, cumAll, tf.onesLike(cumAll));
    const terms = tf.where(active, tf.div(f, safeAll), tf.zerosLike(f));
    const ap = tf.div(tf.sum(terms, 1), tf.tensor1d(m.positiveCountOrOne));
    apValues = Float64Array.from(ap.dataSync());
    return tf.sub(1, tf.div(tf.sum(tf.mul(ap, tf.tensor1d(m.valid))), m.queries)) as tf.Scalar;
  });
  return { loss, apPerQuery: perQueryOutput(apValues!, m.valid) };
};
