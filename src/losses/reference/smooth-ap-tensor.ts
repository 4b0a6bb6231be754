import * as tf from '@tensorflow/tfjs';
import type { LossPlugin } from '../types.js';
import { batchMasks, perQueryOutput } from './masks.js';
import { noPositivesError } from '../kernels/batch.js';

/**
 * Smooth-AP written the paper's way with tfjs tensors: every (query, item, item) sigmoid in a
 * B×B×B tensor and autodiff for the gradient. It is the test oracle for the fused kernel and the
 * slow baseline in `bench perf` (B³ memory: it cannot allocate much past B≈400 on wasm).
 */
export const smoothApTensor: LossPlugin['compute'] = (embeddings, labels, params) => {
  const tau = params.tau as number;
  const includeQuery = params.includeQuery as boolean;
  const n = labels.length;
  const m = batchMasks(labels, includeQuery);
  if (m.queries === 0) throw noPositivesError('smooth-ap', n);
  let apValues: Float64Array | undefined;
  const loss = tf.tidy(() => {
    const sim = tf.matMul(embeddings, embeddings, false, true);
    // diff[q, i, j] = s_qj − s_qi (broadcast, not tiled: tile's gradient is very slow in tfjs).
    const diff = tf.sub(sim.reshape([n, 1, n]), sim.reshape([n, n, 1]));
    const exponent = tf.clipByValue(tf.div(tf.neg(diff), tau), -50, 50);
    const sig = tf.reciprocal(tf.add(1, tf.exp(exponent)));
    const notSelf = tf.sub(1, tf.eye(n)).reshape([1, n, n]);
    const retrieval = tf.tensor2d(m.retrieval, [n, n]).reshape([n, 1, n]);
    const positive = tf.tensor2d(m.positive, [n, n]);
    const maskAll = tf.mul(notSelf, retrieval);
    const maskPos = tf.mul(notSelf, positive.reshape([n, 1, n]));
    const rAll = tf.add(1, tf.sum(tf.mul(sig, maskAll), 2));
    const rPos = tf.add(1, tf.sum(tf.mul(sig, maskPos), 2));
    const ratio = tf.mul(tf.div(rPos, rAll), positive);
    const ap = tf.div(tf.sum(ratio, 1), tf.tensor1d(m.positiveCountOrOne));
    apValues = Float64Array.from(ap.dataSync());
    const valid = tf.tensor1d(m.valid);
    return tf.sub(1, tf.div(tf.sum(tf.mul(ap, valid)), m.queries)) as tf.Scalar;
  });
  return { loss, apPerQuery: perQueryOutput(apValues!, m.valid) };
};
