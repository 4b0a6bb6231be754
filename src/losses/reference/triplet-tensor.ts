import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import type { LossPlugin } from '../types.js';
import { batchMasks, detached } from './masks.js';

const BIG = 1e9;

/**
 * Triplet loss the straightforward tensor way: the B×B distance matrix from the Gram matrix and,
 * for all / hard / semihard, every (anchor, positive, negative) in a B×B×B tensor with the
 * mining rule as a constant mask. Test oracle and `bench perf` baseline.
 */
export const tripletTensor: LossPlugin['compute'] = (embeddings, labels, params) => {
  const margin = params.margin as number;
  const mining = params.mining as string;
  const n = labels.length;
  const m = batchMasks(labels, false);
  const posMask = tf.tensor2d(m.positive, [n, n]);
  const negMask = tf.tensor2d(m.negative, [n, n]);
  const hasNeg = tf.tidy(() => tf.greater(tf.sum(negMask, 1), 0));
  const anchors = tf.tidy(() => tf.logicalAnd(tf.greater(tf.tensor1d(m.valid), 0), hasNeg).cast('float32'));
  const anchorCount = anchors.sum().dataSync()[0]!;
  if (anchorCount === 0) {
    tf.dispose([posMask, negMask, hasNeg, anchors]);
    throw new UserError(`loss triplet: no anchor in the batch of ${n} has both a positive and a negative, so there is no triplet`);
  }
  const loss = tf.tidy(() => {
    const sq = tf.sum(tf.square(embeddings), 1);
    const d2 = tf.sub(tf.add(sq.reshape([n, 1]), sq.reshape([1, n])), tf.mul(2, tf.matMul(embeddings, embeddings, false, true)));
    // max(d², tiny) keeps √ differentiable on the diagonal, which every mask zeroes anyway.
    const dist = tf.sqrt(tf.maximum(d2, 1e-24));
    let perTriplet: tf.Tensor;
    let selected: tf.Tensor;
    if (mining === 'batch-hard') {
      const hardestPos = tf.max(tf.sub(dist, tf.mul(tf.sub(1, posMask), BIG)), 1);
      const closestNeg = tf.min(tf.add(dist, tf.mul(tf.sub(1, negMask), BIG)), 1);
      perTriplet = tf.add(tf.sub(hardestPos, closestNeg), margin);
      selected = detached(tf.mul(anchors, tf.greater(perTriplet, 0).cast('float32')));
    } else {
      // t[a, p, q] = d_aq − d_ap over positives p and negatives q of anchor a.
      const t = tf.sub(dist.reshape([n, 1, n]), dist.reshape([n, n, 1]));
      const valid = tf.mul(posMask.reshape([n, n, 1]), negMask.reshape([n, 1, n]));
      const rule =
        mining === 'all' ? tf.lessEqual(t, margin) : mining === 'hard' ? tf.lessEqual(t, 0) : tf.logicalAnd(tf.greater(t, 0), tf.lessEqual(t, margin));
      perTriplet = tf.sub(margin, t);
      selected = detached(tf.mul(tf.mul(valid, rule.cast('float32')), tf.greater(perTriplet, 0).cast('float32')));
    }
    const count = tf.sum(selected).dataSync()[0]!;
    if (count === 0) return tf.mul(tf.sum(perTriplet), 0) as tf.Scalar;
    return tf.div(tf.sum(tf.mul(perTriplet, selected)), count) as tf.Scalar;
  });
  tf.dispose([posMask, negMask, hasNeg, anchors]);
  return { loss };
};
