import * as tf from '@tensorflow/tfjs';

/** Constant label masks shared by the tensor formulations (plain arrays, turned into tensors there). */
export interface BatchMasks {
  /** [q·n + i] = 1 when i is a positive of query q (same label; q itself only under includeQuery). */
  positive: Float32Array;
  /** [q·n + j] = 1 when j is in q's retrieval set (everything, or everything but q). */
  retrieval: Float32Array;
  /** [q·n + j] = 1 when j ≠ q has a different label from q. */
  negative: Float32Array;
  /** [q] = 1 when q's class has another item in the batch. */
  valid: Float32Array;
  /** Row counts of `positive`, with 0 replaced by 1 so that dividing by them is safe. */
  positiveCountOrOne: Float32Array;
  /** Number of valid queries. */
  queries: number;
}

export function batchMasks(labels: Int32Array, includeQuery: boolean): BatchMasks {
  const n = labels.length;
  const positive = new Float32Array(n * n);
  const retrieval = new Float32Array(n * n);
  const negative = new Float32Array(n * n);
  const valid = new Float32Array(n);
  const positiveCountOrOne = new Float32Array(n);
  let queries = 0;
  for (let q = 0; q < n; q++) {
    let others = 0;
    let count = 0;
    for (let j = 0; j < n; j++) {
      const same = labels[q] === labels[j];
      if (same && j !== q) others++;
      if (same && (includeQuery || j !== q)) {
        positive[q * n + j] = 1;
        count++;
      }
      if (includeQuery || j !== q) retrieval[q * n + j] = 1;
      if (!same) negative[q * n + j] = 1;
    }
    valid[q] = others > 0 ? 1 : 0;
    if (others > 0) queries++;
    positiveCountOrOne[q] = Math.max(count, 1);
  }
  return { positive, retrieval, negative, valid, positiveCountOrOne, queries };
}

/** Per-query values with NaN for the skipped queries, as LossOutput.apPerQuery wants them. */
export function perQueryOutput(values: ArrayLike<number>, valid: Float32Array): Float64Array {
  const out = new Float64Array(valid.length);
  for (let q = 0; q < valid.length; q++) out[q] = valid[q] ? values[q]! : NaN;
  return out;
}

/** A copy of t that autodiff does not trace back through (masks picked by mining or by bins). */
export function detached<T extends tf.Tensor>(t: T): T {
  return tf.tensor(t.dataSync(), t.shape, t.dtype) as T;
}
