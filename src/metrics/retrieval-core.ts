import { averagePrecisionOf, PositiveRanker, type ExactScores } from './rank-positives.js';
import { SimilarityBlocks, wasmSimdAvailable, type Precision } from './wasm-gram.js';
import { gramRoundingDepth } from '../kernels/similarity-rows.js';

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

/** Query rows when they are not the gallery rows themselves. */
export interface QueryRows {
  /** qn×d row-major query vectors, in the same space as the gallery's. */
  x: ArrayLike<number>;
  n: number;
  /** Class ids in the gallery's id space. */
  labels: Int32Array;
}

/** What one thread needs to evaluate any range of queries. */
export interface RetrievalJob {
  /** n×d row-major gallery vectors (shared float64 when workers are used); copied into the kernel. */
  x: ArrayLike<number>;
  n: number;
  d: number;
  labels: Int32Array;
  /** The queries; absent: the gallery rows are the queries. */
  queries?: QueryRows;
  /**
   * Query i is gallery item i and is left out of its own ranking (leave-one-out). Default: true
   * when `queries` is absent, false otherwise.
   */
  self?: boolean;
  blockSize: number;
  /** (number of queries) × SLOTS results; NaN for queries without a positive in the gallery. */
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
  /** Filled in when given: where 'auto' left the f32 kernel for f64 (see evaluateBlocks). */
  stats?: { switchedToF64At: number };
}

/** Exact float64 dot products of the current query against any gallery item, for the f32 kernel. */
export class ExactDot implements ExactScores {
  delta = 0;
  /** Scores computed so far. */
  calls = 0;
  private qo = 0;
  constructor(
    private readonly qx: ArrayLike<number>,
    private readonly x: ArrayLike<number>,
    private readonly d: number,
  ) {}
  setQuery(q: number, delta: number): void {
    this.qo = q * this.d;
    this.delta = delta;
  }
  /** Summed in the float64 kernel's order (even and odd terms apart, then added), so both kernels give the same exact score. */
  score(j: number): number {
    this.calls++;
    const { qx, x, d, qo } = this;
    const jo = j * d;
    let even = 0;
    let odd = 0;
    let t = 0;
    for (; t + 1 < d; t += 2) {
      even += qx[qo + t]! * x[jo + t]!;
      odd += qx[qo + t + 1]! * x[jo + t + 1]!;
    }
    if (t < d) even += qx[qo + t]! * x[jo + t]!;
    return even + odd;
  }
}

/** Row norms and the largest one and the largest |value| of an n×d matrix. */
function rowNorms(x: ArrayLike<number>, n: number, d: number): { norms: Float64Array; maxNorm: number; maxAbs: number } {
  const norms = new Float64Array(n);
  let maxNorm = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = x[i * d + t];
      s += v! * v!;
      const a = Math.abs(v!);
      if (a > maxAbs) maxAbs = a;
    }
    norms[i] = Math.sqrt(s);
    if (norms[i]! > maxNorm) maxNorm = norms[i]!;
  }
  return { norms, maxNorm, maxAbs };
}

/**
 * Row norms and the error bound of the f32 kernel: |f32 score − exact score| ≤ delta(q).
 * Every product q_t·x_t reaches the f32 score through at most h roundings of relative size
 * u = 2⁻²⁴ each: the rounding of q_t and of x_t to f32, then the kernel's own (its product, its
 * adds in one SIMD lane, the pairwise sum of the lanes: gramRoundingDepth). Hence (the
 * standard bound for a sum evaluated along any tree) the error is ≤ γ_h·Σ|q_t·x_t| ≤
 * γ_h·‖q‖·max‖x_j‖ (Cauchy–Schwarz), γ_h = h·u/(1 − h·u). The float64 scores it is compared
 * with are d-term sums themselves, off by at most γ_d in float64's u = 2⁻⁵³, which is added; an
 * absolute term covers f32 subnormals, and 1% more covers the rounding of the bound and of the
 * comparisons. The lanes keep h near d/4 rather than d, and no wider margin is taken, because
 * every item within the bound of a positive is rescored in float64.
 * Null where f32 could overflow or the bound is useless. `queries` null: the gallery rows are
 * the queries.
 */
export function f32BoundParts(x: ArrayLike<number>, n: number, d: number, queries: QueryRows | null): F32Bound | null {
  const gallery = rowNorms(x, n, d);
  const query = queries ? rowNorms(queries.x, queries.n, d) : gallery;
  const maxNorm = Math.max(gallery.maxNorm, queries ? query.maxNorm : 0);
  const maxAbs = Math.max(gallery.maxAbs, query.maxAbs);
  const u = 2 ** -24;
  const chain = (2 + gramRoundingDepth(d, 'f32')) * u;
  if (chain >= 0.01 || maxNorm * maxNorm > 2 ** 100 || maxAbs > 2 ** 60) return null;
  const chain64 = d * 2 ** -53;
  const rel = 1.01 * (chain / (1 - chain) + chain64 / (1 - chain64));
  return { norms: query.norms, rel: rel * maxNorm, abs: 2 * d * 2 ** -140 * (1 + maxAbs) };
}

/** delta(q) = rel·‖q‖ + abs: the f32 kernel's bound for query q (see f32BoundParts). */
export interface F32Bound {
  norms: Float64Array;
  rel: number;
  abs: number;
}

export function boundOf(b: F32Bound, q: number): number {
  return b.rel * b.norms[q]! + b.abs;
}

/** Items of each class in index order (CSR), so a query's positives are one slice. */
export interface ClassIndex {
  start: Map<number, number>;
  count: Map<number, number>;
  members: Int32Array;
}

/** The class index of `labels`: per class its first position in `members` and its size. */
export function classIndex(labels: Int32Array): ClassIndex {
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
    const p = fill.get(l!)!;
    members[p] = i;
    fill.set(l!, p + 1);
  }
  return { start, count, members };
}

/**
 * Evaluates query blocks handed out by `nextBlock` (start index, or ≥ the number of queries when
 * none is left), every query against the gallery (all other items in leave-one-out), writing
 * each query's results into job.out.
 *
 * For query q with R = #gallery items of its class (other than q itself in leave-one-out): AP
 * with scikit-learn's ties; and, in the total order "score descending, then gallery index
 * ascending", the positives' ranks r_1 < … < r_R give MAP@R = (1/R) Σ_{i: r_i ≤ R} i / r_i,
 * R-precision = #{i : r_i ≤ R} / R, and the first rank r_1 (P@1 = [r_1 = 1], Recall@K =
 * [r_1 ≤ K], reciprocal rank 1/r_1).
 */
export function evaluateBlocks(job: RetrievalJob, nextBlock: () => number): void {
  const { x, n, d, labels, out } = job;
  const queries = job.queries ?? null;
  const qn = queries ? queries.n : n;
  const qlabels = queries ? queries.labels : labels;
  const self = job.self ?? !queries;
  if (self && qn !== n) throw new Error(`evaluateBlocks: self needs as many queries as gallery items (${qn} vs ${n})`);
  const idx = classIndex(labels);
  let maxClass = 0;
  for (const c of idx.count.values()) maxClass = Math.max(maxClass, c);
  const useWasm = job.useWasm ?? wasmSimdAvailable();
  const wanted = job.precision ?? 'auto';
  // The f32 kernel halves the N·D work per query but scores each query's positives exactly in
  // JS (R·D, ~5x slower per product): with huge classes (R ≳ N/10) that eats the gain.
  let pairs = 0;
  if (!queries) {
    for (const c of idx.count.values()) pairs += c * (c - 1);
  } else {
    for (let q = 0; q < qn; q++) pairs += (idx.count.get(qlabels[q]!) ?? 0) - (self ? 1 : 0);
  }
  const f32Pays = pairs / qn < n / 20;
  const bound = useWasm && (wanted === 'f32' || (wanted === 'auto' && f32Pays)) ? f32BoundParts(x, n, d, queries) : null;
  if (wanted === 'f32' && !bound) throw new Error('the f32 kernel is not usable for these embeddings (or without wasm)');
  const kernel = (precision: Precision) =>
    new SimilarityBlocks(x, n, d, Math.min(job.blockSize, qn), { useWasm, precision, ...(queries ? { queries: { x: queries.x, n: qn } } : {}) });
  let sims = kernel(bound ? 'f32' : 'f64');
  let ranker = new PositiveRanker(maxClass, sims.rowHistogram);
  let exact = bound ? new ExactDot(queries ? queries.x : x, x, d) : null;
  const positives = new Int32Array(Math.max(1, maxClass));
  if (job.stats) job.stats.switchedToF64At = -1;
  // Items of the last block and float64 scores its positives took (the rest were rescorings).
  let lastItems = 0;
  let lastPositives = 0;
  for (let q0 = nextBlock(); q0 < qn; q0 = nextBlock()) {
    const count = Math.min(job.blockSize, qn - q0);
    // Heavily tied scores (collapsed embeddings) put most items within the f32 bound of a
    // positive, and each of those is rescored in float64 in JS: past one item in 20, 'auto'
    // goes on with the f64 kernel, whose scores need no rescoring (the results are the same).
    if (exact && wanted === 'auto' && exact.calls - lastPositives > lastItems / 20) {
      sims = kernel('f64');
      ranker = new PositiveRanker(maxClass, sims.rowHistogram);
      exact = null;
      if (job.stats) job.stats.switchedToF64At = q0;
    }
    if (exact) exact.calls = 0;
    lastItems = count * n;
    lastPositives = 0;
    const block = sims.compute(q0, count);
    for (let r = 0; r < count; r++) {
      const q = q0 + r;
      const o = q * SLOTS;
      const l = qlabels[q];
      const skip = self ? q : -1;
      const s0 = idx.start.get(l!) ?? 0;
      const c = idx.count.get(l!) ?? 0;
      let m = 0;
      for (let t = s0; t < s0 + c; t++) {
        const j = idx.members[t];
        if (j !== skip) positives[m++] = j!;
      }
      if (m === 0) {
        out.fill(NaN, o, o + SLOTS);
        continue;
      }
      if (exact) exact.setQuery(q, boundOf(bound!, q));
      lastPositives += m;
      ranker.rank(block.subarray(r * sims.stride, r * sims.stride + n), n, skip, positives, m, exact);
      writeQueryResults(out, o, ranker.sortedScores, ranker.atLeast, ranker.ahead, m);
    }
  }
}

/**
 * One query's results from its positives' sorted scores (ascending, worst first) and their
 * two counts (rank-positives.ts): AP with scikit-learn's ties, and from the ranks in the total
 * order MAP@R, R-precision and the first rank.
 */
export function writeQueryResults(out: Float64Array, o: number, ps: ArrayLike<number>, atLeast: ArrayLike<number>, ahead: ArrayLike<number>, m: number): void {
  out[o + SLOT_AP] = averagePrecisionOf(ps, atLeast, m);
  // Sorted worst first: walk from the best positive down.
  let apr = 0;
  let within = 0;
  for (let k = m - 1, i = 1; k >= 0; k--, i++) {
    const rank = ahead[k]! + 1;
    if (rank > m) break;
    within = i;
    apr += i / rank;
  }
  out[o + SLOT_AP_AT_R] = apr / m;
  out[o + SLOT_R_PRECISION] = within / m;
  out[o + SLOT_FIRST_RANK] = ahead[m - 1]! + 1;
}
