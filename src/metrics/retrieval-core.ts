import { PositiveRanker, type ExactScores } from './rank-positives.js';
import { SimilarityBlocks, wasmSimdAvailable, type Precision } from './wasm-gram.js';

/**
 * Per-query retrieval results, 4 slots per query, written by whichever thread evaluates the
 * query and summed in query order afterwards (so totals do not depend on blocks or workers).
 */
export const SLOTS = 4;
export const SLOT_AP = 0;
export const SLOT_AP_AT_R = 1;
export const SLOT_R_PRECISION = 2;
/** Rank (1-based, ties by index) of the best positive; Recall@K is firstRank <= K. */
export const SLOT_FIRST_RANK = 3;

/** What one thread needs to evaluate any range of queries. */
export interface RetrievalJob {
  /** n×d row-major embeddings (shared float64 when workers are used); copied into the kernel. */
  x: ArrayLike<number>;
  n: number;
  d: number;
  labels: Int32Array;
  blockSize: number;
  /** n × SLOTS results; NaN for queries without another item of their class. */
  out: Float64Array;
  /** Disables the wasm kernel (tests of the JS fallback). */
  useWasm?: boolean;
  /**
   * Similarity kernel: 'f64' computes exact scores; 'f32' (twice as fast) computes approximate
   * ones with a proven error bound and rescores exactly the few items within that bound of a
   * positive, so the metrics are the same. 'auto' (default): f32 where its bound is valid and
   * classes are small enough (positives per query < N/20) for it to pay.
   */
  precision?: 'auto' | Precision;
}

/** Exact float64 dot products of the current query against any item, for the f32 kernel. */
class ExactDot implements ExactScores {
  delta = 0;
  private qo = 0;
  constructor(
    private readonly x: ArrayLike<number>,
    private readonly d: number,
  ) {}
  setQuery(q: number, delta: number): void {
    this.qo = q * this.d;
    this.delta = delta;
  }
  score(j: number): number {
    const { x, d, qo } = this;
    const jo = j * d;
    let s = 0;
    for (let t = 0; t < d; t++) s += x[qo + t] * x[jo + t];
    return s;
  }
}

/**
 * Row norms and the error bound of the f32 kernel: |f32 score − exact score| ≤ delta(q).
 * Each f32 product and sum adds at most u = 2⁻²⁴ relative error (the input's rounding to f32
 * included), along chains of at most d + 3 operations, so the error is ≤ γ_{d+3}·Σ|x_qt·x_jt|
 * ≤ γ_{d+3}·‖x_q‖·max‖x_j‖ (Cauchy–Schwarz); an absolute term covers f32 subnormals, and a
 * factor 2 covers the float64 side. Null where f32 could overflow or the bound is useless.
 */
function f32Bound(x: ArrayLike<number>, n: number, d: number): ((q: number) => number) | null {
  const norms = new Float64Array(n);
  let maxNorm = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = x[i * d + t];
      s += v * v;
      const a = Math.abs(v);
      if (a > maxAbs) maxAbs = a;
    }
    norms[i] = Math.sqrt(s);
    if (norms[i] > maxNorm) maxNorm = norms[i];
  }
  const u = 2 ** -24;
  const chain = (d + 3) * u;
  if (chain >= 0.01 || maxNorm * maxNorm > 2 ** 100 || maxAbs > 2 ** 60) return null;
  const rel = 2 * (chain / (1 - chain) + 2 ** -40);
  const abs = 2 * d * 2 ** -140 * (1 + maxAbs);
  return (q) => rel * norms[q] * maxNorm + abs;
}

/** Items of each class in index order (CSR), so a query's positives are one slice. */
function classIndex(labels: Int32Array): { start: Map<number, number>; count: Map<number, number>; members: Int32Array } {
  const count = new Map<number, number>();
  for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
  const start = new Map<number, number>();
  let at = 0;
  for (const [l, c] of count) {
    start.set(l, at);
    at += c;
  }
  const fill = new Map(start);
  const members = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    const p = fill.get(l)!;
    members[p] = i;
    fill.set(l, p + 1);
  }
  return { start, count, members };
}

/**
 * Evaluates query blocks handed out by `nextBlock` (start index, or ≥ n when none is left),
 * every query against all other items, writing each query's results into job.out.
 *
 * For query q with R = #other items of its class: AP with scikit-learn's ties; and, in the
 * total order "score descending, then item index ascending", the positives' ranks r_1 < … < r_R
 * give MAP@R = (1/R) Σ_{i: r_i ≤ R} i / r_i, R-precision = #{i : r_i ≤ R} / R, and the first
 * rank r_1 (P@1 = [r_1 = 1], Recall@K = [r_1 ≤ K]).
 */
export function evaluateBlocks(job: RetrievalJob, nextBlock: () => number): void {
  const { x, n, d, labels, out } = job;
  const idx = classIndex(labels);
  let maxClass = 0;
  for (const c of idx.count.values()) maxClass = Math.max(maxClass, c);
  const useWasm = job.useWasm ?? wasmSimdAvailable();
  const wanted = job.precision ?? 'auto';
  // The f32 kernel halves the N·D work per query but scores each query's positives exactly in
  // JS (R·D, ~5x slower per product): with huge classes (R ≳ N/10) that eats the gain.
  let pairs = 0;
  for (const c of idx.count.values()) pairs += c * (c - 1);
  const f32Pays = pairs / n < n / 20;
  const bound = useWasm && (wanted === 'f32' || (wanted === 'auto' && f32Pays)) ? f32Bound(x, n, d) : null;
  if (wanted === 'f32' && !bound) throw new Error('the f32 kernel is not usable for these embeddings (or without wasm)');
  const precision: Precision = bound ? 'f32' : 'f64';
  const sims = new SimilarityBlocks(x, n, d, Math.min(job.blockSize, n), { useWasm, precision });
  const ranker = new PositiveRanker(maxClass, sims.rowHistogram);
  const exact = bound ? new ExactDot(x, d) : null;
  const positives = new Int32Array(Math.max(1, maxClass));
  for (let q0 = nextBlock(); q0 < n; q0 = nextBlock()) {
    const count = Math.min(job.blockSize, n - q0);
    const block = sims.compute(q0, count);
    for (let r = 0; r < count; r++) {
      const q = q0 + r;
      const o = q * SLOTS;
      const l = labels[q];
      const s0 = idx.start.get(l)!;
      const c = idx.count.get(l)!;
      let m = 0;
      for (let t = s0; t < s0 + c; t++) {
        const j = idx.members[t];
        if (j !== q) positives[m++] = j;
      }
      if (m === 0) {
        out.fill(NaN, o, o + SLOTS);
        continue;
      }
      if (exact) exact.setQuery(q, bound!(q));
      ranker.rank(block.subarray(r * sims.stride, r * sims.stride + n), n, q, positives, m, exact);
      out[o + SLOT_AP] = ranker.averagePrecision();
      // Sorted worst first: walk from the best positive down.
      let apr = 0;
      let within = 0;
      for (let k = m - 1, i = 1; k >= 0; k--, i++) {
        const rank = ranker.ahead[k] + 1;
        if (rank > m) break;
        within = i;
        apr += i / rank;
      }
      out[o + SLOT_AP_AT_R] = apr / m;
      out[o + SLOT_R_PRECISION] = within / m;
      out[o + SLOT_FIRST_RANK] = ranker.ahead[m - 1] + 1;
    }
  }
}
