import { PositiveRanker } from './rank-positives.js';

export { averagePrecisionOfRow, PositiveRanker } from './rank-positives.js';

/**
 * Exact AP of every item of a batch as a query against the batch, with s_ij = x_i·x_j
 * accumulated in float64 and ties as scikit-learn's average_precision_score.
 *
 * includeQuery = true (the Smooth-AP paper's code): the query sits in its own retrieval set and
 * its own positive set, with score s_qq = x_q·x_q. false (standard retrieval): in neither.
 * Under both conventions a query with no other item of its class gets NaN, so callers can skip
 * the same queries the losses skip; so does a query whose scores are not all finite (NaN or
 * overflowing embeddings have no ranking).
 */
export function batchAveragePrecision(x: ArrayLike<number>, n: number, d: number, labels: Int32Array, includeQuery: boolean): Float64Array {
  if (x.length < n * d) throw new Error(`batchAveragePrecision: x has ${x.length} values, need n*d = ${n * d}`);
  if (labels.length !== n) throw new Error(`batchAveragePrecision: ${labels.length} labels for ${n} rows`);
  const out = new Float64Array(n);
  const row = new Float64Array(n);
  const positives = new Int32Array(n);
  const ranker = new PositiveRanker(n);
  for (let q = 0; q < n; q++) {
    const qo = q * d;
    let m = 0;
    let others = 0;
    let finite = true;
    for (let j = 0; j < n; j++) {
      const jo = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) s += x[qo + t]! * x[jo + t]!;
      row[j] = s;
      if (!Number.isFinite(s)) finite = false;
      if (labels[j] === labels[q]) {
        if (j !== q) others++;
        if (j !== q || includeQuery) positives[m++] = j;
      }
    }
    if (others === 0 || !finite) {
      out[q] = NaN;
      continue;
    }
    ranker.rank(row, n, includeQuery ? -1 : q, positives, m);
    out[q] = ranker.averagePrecision();
  }
  return out;
}
