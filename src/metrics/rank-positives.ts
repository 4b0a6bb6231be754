/**
 * The ranks of one query's positives within its score row, without sorting the row.
 *
 * Two counts per positive p (exact score s_p, position i_p in the row):
 * - `atLeast[k]` = #{j in the retrieval set : s_j >= s_p}: the denominator of scikit-learn's
 *   average_precision_score, where tied scores form one threshold;
 * - `ahead[k]`  = #{j : s_j > s_p, or s_j == s_p and j < i_p}: how many items precede p in the
 *   deterministic total order "score descending, then row position ascending" that the top-K
 *   metrics use, so p's rank in that order is ahead[k] + 1.
 *
 * Method: positives are sorted (score ascending, position descending: worst first). Scores are
 * mapped to buckets by a monotone function (linear over the positives' score range, clamped);
 * one branch-light pass histograms the row, and only items whose bucket lies within a
 * positive's uncertainty interval [s_p − δ, s_p + δ] are compared individually. An item in a
 * bucket above that interval scores strictly more than p; below it, strictly less. (A binary
 * search per item was ~70 ns/item from mispredicted branches; this pass is a few ns.)
 *
 * The row may hold approximate scores (a float32 kernel) with |row[j] − s_j| ≤ δ: only items
 * within δ of a positive's score are then rescored exactly (`ExactScores.score`), so the counts
 * are those of the exact scores. With exact rows δ = 0 and the row itself is used.
 */

/** Largest bucket count (top + 2) a ranker uses. */
export const MAX_BINS = (1 << 16) + 2;

/**
 * A faster row pass (the wasm kernel in wasm-gram.ts): adds to `hist` the counts of
 * row[0..len) over bucketOf's buckets and lists in `cand` the items whose bucket has
 * firstPos ≥ 0, and their buckets in `candBucket`; returns their count. Its arrays hold at
 * least MAX_BINS (hist, firstPos) and len (cand, candBucket) entries.
 */
export interface RowHistogram {
  hist: Int32Array;
  firstPos: Int32Array;
  cand: Int32Array;
  candBucket: Int32Array;
  run(row: Float32Array | Float64Array, len: number, lo: number, scale: number, ceil: number): number;
}

/** How to get exact scores when the row is approximate. */
export interface ExactScores {
  /** Bound on |row[j] − exact score of j| for every j of the row. */
  delta: number;
  /** The exact score of row position j. */
  score(j: number): number;
}

type Row = Float32Array | Float64Array;

export class PositiveRanker {
  private scores: Float64Array;
  private pos: Int32Array;
  /**
   * Difference arrays over the sorted positives of the items compared one by one: an item adds
   * 1 to atLeast (and to ahead) of a contiguous run of positives, as +1 at its start and −1
   * after its end, so a run of many tied positives costs O(1) per item rather than O(run).
   */
  private tieGe: Float64Array;
  private tieAhead: Float64Array;
  private order: Int32Array;
  private loB: Int32Array;
  private hiB: Int32Array;
  private hist: Int32Array;
  /** For each bucket, the first and last sorted positive whose interval covers it (-1: none). */
  private firstPos: Int32Array;
  private lastPos: Int32Array;
  /** Sorted (worst first) exact scores of the positives after `rank`. */
  sortedScores: Float64Array;
  /** Row positions of the positives, in the same order as `sortedScores`. */
  sortedPos: Int32Array;
  atLeast: Float64Array;
  ahead: Float64Array;
  m = 0;
  private readonly kernel: RowHistogram | null;

  constructor(maxPositives: number, kernel: RowHistogram | null = null) {
    this.kernel = kernel;
    const cap = Math.max(1, maxPositives);
    this.scores = new Float64Array(cap);
    this.pos = new Int32Array(cap);
    this.tieGe = new Float64Array(cap + 1);
    this.tieAhead = new Float64Array(cap + 1);
    this.order = new Int32Array(cap);
    this.loB = new Int32Array(cap);
    this.hiB = new Int32Array(cap);
    this.sortedScores = new Float64Array(cap);
    this.sortedPos = new Int32Array(cap);
    this.atLeast = new Float64Array(cap);
    this.ahead = new Float64Array(cap);
    this.hist = kernel ? kernel.hist : new Int32Array(0);
    this.firstPos = kernel ? kernel.firstPos : new Int32Array(0);
    this.lastPos = new Int32Array(0);
  }

  /**
   * Ranks the positives at row positions `positives[0..m)` among row[0..len), leaving out
   * position `skip` (-1: none) from the retrieval set. Positions must be distinct and ≠ skip;
   * scores must be finite. `exact` (null: the row is exact) when the row is approximate.
   */
  rank(row: Row, len: number, skip: number, positives: ArrayLike<number>, m: number, exact: ExactScores | null = null): void {
    this.m = m;
    const { scores, pos, tieGe, tieAhead, order, loB, hiB, sortedScores: ps, sortedPos: pp } = this;
    if (m === 0) return;
    for (let k = 0; k < m; k++) {
      order[k] = k;
      pos[k] = positives[k]!;
      scores[k] = (exact ? exact.score(positives[k]!) : row[positives[k]!])!;
    }
    const ord = order.subarray(0, m);
    ord.sort((a, b) => scores[a]! - scores[b]! || pos[b]! - pos[a]!);
    for (let k = 0; k < m; k++) {
      ps[k] = scores[ord[k]!]!;
      pp[k] = pos[ord[k]!]!;
    }
    tieGe.fill(0, 0, m + 1);
    tieAhead.fill(0, 0, m + 1);
    const delta = exact ? exact.delta : 0;
    // Buckets -1..top, stored at index b+1. Items sharing a bucket with a positive (about
    // len·m/top of them) are compared one by one, and the bucket tables cost about top: their
    // sum is least near top = √(len·m·(cost of a comparison ÷ cost of a bucket)), a ratio of
    // ~4 measured here; at least 32 per positive keeps short rows cheap too.
    const top = Math.min(MAX_BINS - 2, Math.max(256, 32 * m, Math.round(2 * Math.sqrt(len * m))));
    if (!this.kernel && this.hist.length < top + 2) {
      this.hist = new Int32Array(top + 2);
      this.firstPos = new Int32Array(top + 2);
    }
    if (this.lastPos.length < top + 2) this.lastPos = new Int32Array(Math.max(top + 2, 1024));
    const { hist, firstPos, lastPos } = this;
    hist.fill(0, 0, top + 2);
    const lo = ps[0]! - delta;
    const range = ps[m - 1]! + delta - lo;
    let scale = range > 0 ? (top - 1) / range : 1;
    if (!Number.isFinite(scale)) scale = 1;
    const ceil = top + 0.5;
    for (let k = 0; k < m; k++) {
      loB[k] = bucketOf(ps[k]! - delta, lo, scale, ceil);
      hiB[k] = bucketOf(ps[k]! + delta, lo, scale, ceil);
    }
    // Bucket b is covered by positives [first, last]: first = min k with hiB ≥ b, last = max k
    // with loB ≤ b (both bounds are non-decreasing in k, so the set is contiguous). Only the
    // buckets of the positives' intervals are written; lastPos is read only where firstPos ≥ 0.
    firstPos.fill(-1, 0, top + 2);
    for (let k = 0; k < m; k++) {
      for (let b = loB[k]!, hi = hiB[k]!; b <= hi; b++) {
        if (firstPos[b]! < 0) firstPos[b] = k;
        lastPos[b] = k;
      }
    }
    const near: Near = { ps, pp, delta, exact, tieGe, tieAhead, firstPos, lastPos };
    const kernel = this.kernel;
    if (kernel) {
      const count = kernel.run(row, len, lo, scale, ceil);
      const { cand, candBucket } = kernel;
      for (let c = 0; c < count; c++) {
        const j = cand[c]!;
        if (j !== skip) place(near, j, row[j]!, candBucket[c]!);
      }
      if (skip >= 0 && skip < len) hist[bucketOf(row[skip]!, lo, scale, ceil)]!--;
    } else if (skip >= 0 && skip < len) {
      histogramPass(row, 0, skip, lo, scale, ceil, hist, near);
      histogramPass(row, skip + 1, len, lo, scale, ceil, hist, near);
    } else {
      histogramPass(row, 0, len, lo, scale, ceil, hist, near);
    }
    // The items compared one by one: prefix sums of the difference arrays.
    let ge = 0;
    let ahead = 0;
    for (let k = 0; k < m; k++) {
      ge += tieGe[k]!;
      ahead += tieAhead[k]!;
      this.atLeast[k] = ge;
      this.ahead[k] = ahead;
    }
    // Items in buckets above a positive's interval are strictly above it; suffix-sum them.
    let run = 0;
    let b = top + 1;
    for (let k = m - 1; k >= 0; k--) {
      while (b > hiB[k]!) run += hist[b--]!;
      this.atLeast[k]! += run;
      this.ahead[k]! += run;
    }
  }

  /**
   * Average precision with scikit-learn's tie rule: mean over positives of
   * #{positives with score >= s_p} / #{items with score >= s_p}.
   */
  averagePrecision(): number {
    return averagePrecisionOf(this.sortedScores, this.atLeast, this.m);
  }
}

/**
 * Average precision with scikit-learn's tie rule from sorted (ascending) positive scores and
 * their atLeast counts: mean over positives of #{positives ≥ s_p} / #{items ≥ s_p}; NaN for m = 0.
 */
export function averagePrecisionOf(ps: ArrayLike<number>, atLeast: ArrayLike<number>, m: number): number {
  if (m === 0) return NaN;
  let sum = 0;
  let k = 0;
  while (k < m) {
    // Tied positives share one threshold: every positive from k on scores >= ps[k].
    let end = k + 1;
    while (end < m && ps[end] === ps[k]) end++;
    const precision = (m - k) / atLeast[k]!;
    sum += precision * (end - k);
    k = end;
  }
  return sum / m;
}

/**
 * Monotone non-decreasing map of a score to a bucket index in 0..top+1 (clamp, then truncate:
 * both monotone, so a higher bucket always means a strictly higher score). ceil = top + 0.5.
 */
function bucketOf(s: number, lo: number, scale: number, ceil: number): number {
  // Clamp to non-integer doubles (-1.5, top + 0.5): mixing small-int and double constants here
  // makes V8 box v on every item, which doubled the cost of the whole pass.
  let v = (s - lo) * scale;
  if (v < 0) v = -1.5;
  else if (v > ceil) v = ceil;
  return (v | 0) + 1;
}

/** What `place` needs of the row being ranked. */
interface Near {
  ps: Float64Array;
  pp: Int32Array;
  delta: number;
  exact: ExactScores | null;
  tieGe: Float64Array;
  tieAhead: Float64Array;
  firstPos: Int32Array;
  lastPos: Int32Array;
}

/** Histogram of row[from, to) over buckets, with individual comparisons near the positives. */
function histogramPass(row: Row, from: number, to: number, lo: number, scale: number, ceil: number, hist: Int32Array, near: Near): void {
  const firstPos = near.firstPos;
  for (let j = from; j < to; j++) {
    const b = bucketOf(row[j]!, lo, scale, ceil);
    hist[b]!++;
    if (firstPos[b]! >= 0) place(near, j, row[j]!, b);
  }
}

/**
 * Item j (row score v, in bucket b) against the positives whose interval covers b, a run
 * [first, last] of the sorted positives: it is strictly above a prefix of them, tied with a
 * middle part, below the rest. Each part is found by scanning (binary search past a few
 * positives), and counted as a range in the difference arrays.
 */
function place(near: Near, j: number, v: number, b: number): void {
  const { ps, pp, delta, tieGe, tieAhead } = near;
  const first = near.firstPos[b]!;
  const end = near.lastPos[b]! + 1;
  // Positives [first, k) lie clearly below the item, even allowing for the row's error.
  let k = first;
  if (end - first <= 4) {
    while (k < end && v > ps[k]! + delta) k++;
  } else {
    let hi = end;
    while (k < hi) {
      const mid = (k + hi) >>> 1;
      if (v > ps[mid]! + delta) k = mid + 1;
      else hi = mid;
    }
  }
  if (k === end || v < ps[k]! - delta) {
    addRun(tieGe, tieAhead, first, k);
    return;
  }
  const s = near.exact ? near.exact.score(j) : v;
  // Within [k, end): strictly below s up to a, equal to s up to c.
  const a = firstIndex(ps, k, end, s, false);
  const c = firstIndex(ps, a, end, s, true);
  addRun(tieGe, tieAhead, first, a);
  if (c > a) {
    tieGe[a]! += 1;
    tieGe[c]! -= 1;
    // Tied positives are sorted by position descending, so those at positions after j (which j
    // precedes in the top-K order) are the first ones, [a, e).
    let e = a;
    let hi = c;
    while (e < hi) {
      const mid = (e + hi) >>> 1;
      if (j < pp[mid]!) e = mid + 1;
      else hi = mid;
    }
    tieAhead[a]! += 1;
    tieAhead[e]! -= 1;
  }
}

/** The item is strictly above positives [from, to): both counts of each go up by one. */
function addRun(ge: Float64Array, ahead: Float64Array, from: number, to: number): void {
  if (to <= from) return;
  ge[from]! += 1;
  ge[to]! -= 1;
  ahead[from]! += 1;
  ahead[to]! -= 1;
}

/** First index in [lo, hi) of the ascending ps with ps ≥ s (or > s when `strict`); hi when none. */
export function firstIndex(ps: ArrayLike<number>, lo: number, hi: number, s: number, strict: boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = ps[mid]!;
    if (strict ? p <= s : p < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** AP of one score row (scikit-learn ties); `relevant[j]` marks positives; NaN without positives. */
export function averagePrecisionOfRow(scores: ArrayLike<number>, relevant: ArrayLike<boolean | number>): number {
  const row = Float64Array.from(scores);
  const positives: number[] = [];
  for (let j = 0; j < row.length; j++) if (relevant[j]) positives.push(j);
  const ranker = new PositiveRanker(positives.length);
  ranker.rank(row, row.length, -1, positives, positives.length);
  return ranker.averagePrecision();
}
