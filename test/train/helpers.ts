import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import type { LoadedDataset, Split } from '../../src/data/types.js';
import type { LossPlugin } from '../../src/losses/types.js';
import { batchAveragePrecision } from '../../src/metrics/average-precision.js';
import { DEFAULT_TRAIN_CONFIG } from '../../src/train/config.js';
import type { TrainConfig } from '../../src/train/types.js';

/**
 * Clusters whose class signal lives in `signal` coordinates while the other coordinates carry
 * larger class-free noise: raw or randomly projected features retrieve poorly, and a learned
 * projection that suppresses the noise transfers to unseen classes (the test split's classes
 * are disjoint from the train split's).
 */
export function clusterData(opts: { classes: number; perClass: number; dim: number; signal: number; noise: number; seed: number }): LoadedDataset {
  const rng = new Rng(opts.seed);
  const make = (firstClass: number): Split => {
    const n = opts.classes * opts.perClass;
    const x = new Float32Array(n * opts.dim);
    const labels = new Int32Array(n);
    for (let c = 0, i = 0; c < opts.classes; c++) {
      const centre = Array.from({ length: opts.signal }, () => rng.normal());
      for (let t = 0; t < opts.perClass; t++, i++) {
        labels[i] = firstClass + c;
        for (let k = 0; k < opts.dim; k++) {
          x[i * opts.dim + k] = k < opts.signal ? centre[k]! + 0.3 * rng.normal() : opts.noise * rng.normal();
        }
      }
    }
    return { x, n, dim: opts.dim, labels };
  };
  return { name: 'test-clusters', train: make(0), test: make(opts.classes), splitKind: 'class-disjoint' };
}

/** Exact test mAP (query excluded), the mean over queries that have a positive. */
export function meanAP(emb: Float32Array, split: Split, dim: number): number {
  const ap = batchAveragePrecision(emb, split.n, dim, split.labels, false);
  let s = 0;
  let n = 0;
  for (const v of ap) {
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  }
  return s / n;
}

/**
 * A contrastive loss written with plain tf ops (autodiff, no fused kernel): pulls positives to
 * similarity 1 and pushes negatives below 0.5. Enough to train on; independent of src/losses.
 */
export const contrastiveLoss: LossPlugin = {
  name: 'test-contrastive',
  description: 'test-only contrastive loss',
  params: [{ name: 'margin', type: 'number', default: 0.5, doc: 'negative margin' }],
  compute(emb, labels, params) {
    const b = labels.length;
    const pos = new Float32Array(b * b);
    const neg = new Float32Array(b * b);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < b; j++) {
        if (i === j) continue;
        if (labels[i] === labels[j]) pos[i * b + j] = 1;
        else neg[i * b + j] = 1;
      }
    }
    const nPos = pos.reduce((a, v) => a + v, 0);
    const nNeg = neg.reduce((a, v) => a + v, 0);
    const s = tf.matMul(emb, emb, false, true);
    const pull = tf.div(tf.sum(tf.mul(tf.sub(1, s), tf.tensor2d(pos, [b, b]))), nPos);
    const push = tf.div(tf.sum(tf.mul(tf.relu(tf.sub(s, params['margin'] as number)), tf.tensor2d(neg, [b, b]))), nNeg);
    return { loss: tf.add(pull, push) as tf.Scalar };
  },
};

export function cfg(over: Partial<TrainConfig>): TrainConfig {
  return { ...DEFAULT_TRAIN_CONFIG, ...over };
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
