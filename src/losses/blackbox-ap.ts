import { defineLoss, type LossKernel } from './types.js';
import { apBatch, meanValid } from './kernels/batch.js';
import { gram, gramBackward } from './kernels/gram.js';
import { lowerBound, upperBound } from './kernels/ranks.js';

/**
 * Blackbox-AP (Rolínek et al., CVPR 2020). Forward: exact AP from hard ranks of each query's
 * row of S = X·Xᵀ, the query included as its own positive, after the margin shift (positives
 * − margin·|z|/2, negatives + margin·|z|/2, z ~ N(0,1) per score from the run's generator).
 * Ranks count the items scoring at least as high (rank(i) = #{j : s_j ≥ s_i}), which is the
 * tie rule of scikit-learn's average_precision_score, so at margin 0 the value is exactly
 * 1 − AP. AP_q = (1/|P|) Σ_{i∈P} rank⁺(i) / (B·r_i) with r = rank/B the normalised ranks.
 *
 * Backward: blackbox differentiation of the ranking. With g = ∂L/∂r (non-zero on positives
 * only; rank⁺ is a constant), ∂L/∂s ≈ −(r(s) − r(s + λg))/λ, then chained to the embeddings.
 * Only positives move in s + λg, so every rank follows from where each negative falls among the
 * sorted positive scores, before and after the move: O(B·log|P|) per query by binary search, or
 * for classes up to COUNT_MAX_POSITIVES O(B·|P|) branch-free counts; no sort of the row.
 */
export const blackboxApKernel: LossKernel = (x, n, d, labels, params, ctx) => {
  const prec = { float32: ctx.precision === 'float32' };
  const { groups, queries } = apBatch('blackbox-ap', x, n, d, labels);
  const { classOf, members, start } = groups;
  const lambda = params.lambda as number;
  const margin = params.margin as number;

  const s = gram(x, n, d, { ...prec, scratch: true });
  // The shift is drawn for every score in row-major order, so a seed fixes it regardless of
  // labels; a row's draws are made just before the row is used (the same order), while it is in cache.
  const z = margin > 0 ? new Float64Array(n) : null;

  // S is overwritten row by row with ∂L/∂S (query q reads and writes row q only).
  const gRow = new Float64Array(n);
  const ap = new Float64Array(n).fill(NaN);
  const maxPos = groups.maxClassSize;
  const posIdx = new Int32Array(maxPos);
  const posScore = new Float64Array(maxPos);
  const posMoved = new Float64Array(maxPos);
  const rankBefore = new Float64Array(maxPos);
  const sorted = new Float64Array(maxPos);
  const sortedMoved = new Float64Array(maxPos);
  const reach = new Float64Array(maxPos + 2);
  // The counting passes' candidates: negatives of the row scoring at least the lowest positive.
  const candIdx = new Int32Array(n);
  const candScore = new Float64Array(n);
  const crossed = new Float64Array(n);
  let candidates = 0;

  for (let q = 0; q < n; q++) {
    const c = classOf[q]!;
    const c0 = start[c]!;
    const np = start[c + 1]! - c0;
    const row = q * n;
    if (z) {
      ctx.rng.fillNormal(z);
      for (let j = 0; j < n; j++) {
        const shift = (margin * Math.abs(z[j]!)) / 2;
        s[row + j]! += classOf[j] === c ? -shift : shift;
      }
    }
    if (np < 2) {
      s.fill(0, row, row + n);
      continue;
    }
    for (let k = 0; k < np; k++) {
      posIdx[k] = members[c0 + k]!;
      posScore[k] = s[row + posIdx[k]!]!;
      sorted[k] = posScore[k]!;
    }
    sorted.subarray(0, np).sort();
    // Typed-array sort puts NaN last: a NaN score goes to the binary searches, which define its ranks.
    const counting = np <= COUNT_MAX_POSITIVES && sorted[np - 1] === sorted[np - 1];
    if (counting) {
      candidates = negativeCandidates(s, row, n, classOf, c, sorted[0]!, candIdx, candScore);
      countReaching(candScore, candidates, sorted, np, reach);
    } else negativesReaching(s, row, n, classOf, c, sorted, np, reach);
    // Forward ranks (rank = #{j : s_j ≥ s_i}), and g_i = ∂L/∂r_i = rank⁺_i / (Q·|P|·B·r_i²).
    let apSum = 0;
    for (let k = 0; k < np; k++) {
      const below = lowerBound(sorted, np, posScore[k]!);
      const rankPos = np - below;
      const rank = rankPos + reach[below]!;
      rankBefore[k] = rank;
      apSum += rankPos / rank;
      const r = rank / n;
      posMoved[k] = posScore[k]! + lambda * (rankPos / (queries * np * n * r * r));
    }
    ap[q] = apSum / np;

    // ∂L/∂s_j = −(r_j − r'_j)/λ, r' the normalised ranks after the positives move by λg.
    const scale = -1 / (lambda * n);
    for (let k = 0; k < np; k++) sortedMoved[k] = posMoved[k]!;
    sortedMoved.subarray(0, np).sort();
    if (counting && sortedMoved[np - 1] === sortedMoved[np - 1]) {
      countCrossing(candScore, candidates, sorted, sortedMoved, np, reach, crossed);
      // A negative nothing crosses gets scale·(+0), the −0 of the search loop below; so does one
      // below every positive. 0 − count, not −count, keeps that sign.
      gRow.fill(scale * 0, 0, n);
      for (let i = 0; i < candidates; i++) gRow[candIdx[i]!] = scale * (0 - crossed[i]!);
    } else {
      // One pass over the negatives after the move: where each falls among the moved positives
      // (for the positives' new ranks), and its own rank change, the positives that cross it:
      // #{s_m ≥ v} − #{s'_m ≥ v}. A negative below every positive, before and after, moves nothing.
      reach.fill(0, 0, np + 1);
      const lowest = Math.min(sorted[0]!, sortedMoved[0]!);
      for (let j = 0; j < n; j++) {
        if (classOf[j] === c) continue;
        const v = s[row + j]!;
        if (v < lowest) {
          gRow[j] = scale * 0;
          continue;
        }
        const u = upperBound(sortedMoved, np, v);
        if (u > 0) reach[u - 1] = reach[u - 1]! + 1;
        gRow[j] = scale * (lowerBound(sortedMoved, np, v) - lowerBound(sorted, np, v));
      }
      for (let t = np - 2; t >= 0; t--) reach[t] = reach[t]! + reach[t + 1]!;
    }
    for (let k = 0; k < np; k++) {
      const below = lowerBound(sortedMoved, np, posMoved[k]!);
      gRow[posIdx[k]!] = scale * (rankBefore[k]! - (np - below + reach[below]!));
    }
    s.set(gRow, row);
  }
  return { loss: 1 - meanValid(ap), grad: gramBackward(s, x, n, d, { ...prec, out: ctx.gradOut }), apPerQuery: ap };
};

const blackboxAp = defineLoss({
  name: 'blackbox-ap',
  description: 'Blackbox-AP (Rolínek et al. 2020): 1 − exact AP, ranking differentiated as a blackbox',
  params: [
    {
      name: 'lambda',
      type: 'number',
      default: 4,
      min: 0,
      minExclusive: true,
      doc: 'interpolation strength: scores move by lambda × the incoming gradient in the backward pass',
    },
    {
      name: 'margin',
      type: 'number',
      default: 0.02,
      min: 0,
      doc: 'random score margin: positives − margin·|z|/2, negatives + margin·|z|/2, z ~ N(0,1); 0 is deterministic',
    },
  ],
  apConvention: () => ({ includeQuery: true }),
  kernel: blackboxApKernel,
});

export default blackboxAp;

/**
 * reach[t] (t = 0..np−1) = #{negatives j of the row : s_j ≥ sorted[t]}, for ascending `sorted`:
 * each negative is placed among the positive scores by binary search, then suffix sums.
 */
function negativesReaching(
  s: Float64Array,
  row: number,
  n: number,
  classOf: Int32Array,
  c: number,
  sorted: Float64Array,
  np: number,
  reach: Float64Array,
): void {
  // A negative with u = #{t : sorted[t] ≤ s_j} reaches exactly sorted[0..u−1]; count it at u−1.
  reach.fill(0, 0, np + 1);
  const lowest = sorted[0]!;
  for (let j = 0; j < n; j++) {
    if (classOf[j] === c) continue;
    const v = s[row + j]!;
    // Below every positive: reaches none (skips the search for most negatives of a trained model).
    if (v < lowest) continue;
    const u = upperBound(sorted, np, v);
    if (u > 0) reach[u - 1] = reach[u - 1]! + 1;
  }
  for (let t = np - 2; t >= 0; t--) reach[t] = reach[t]! + reach[t + 1]!;
}

/**
 * Classes up to this size take the counting passes below; larger ones the binary searches. The
 * counts cost |P| comparisons per candidate against ~3·log₂|P| hard-to-predict branches for the
 * searches (measured at B = 1024, D = 64, single thread, random rows: 19 against 36 ms at
 * |P| = 4, 43 against 63 at 16, 74–90 against 79–80 at 32), so they win while |P| is small, as
 * in the P×K batches these losses are trained on.
 */
const COUNT_MAX_POSITIVES = 16;

/**
 * The negatives of row `row` scoring at least `lowest` (the lowest positive score), their
 * indices and scores packed at the front of candIdx / candScore; returns how many. Every item is
 * written and the count advanced by the test's outcome, without a branch, so this costs the same
 * for an untrained batch (most negatives above some positive) and a trained one (almost none,
 * which then leaves the counting passes next to nothing). The other negatives reach no positive,
 * before or after the move, and nothing crosses them. A NaN score is no candidate.
 */
function negativeCandidates(
  s: Float64Array,
  row: number,
  n: number,
  classOf: Int32Array,
  c: number,
  lowest: number,
  candIdx: Int32Array,
  candScore: Float64Array,
): number {
  let m = 0;
  for (let j = 0; j < n; j++) {
    const v = s[row + j]!;
    candIdx[m] = j;
    candScore[m] = v;
    m += +(v >= lowest) & +(classOf[j] !== c);
  }
  return m;
}

/**
 * reach as negativesReaching computes it, by counting: for each positive score a = sorted[t],
 * the candidates with s_j ≥ a. The comparisons are summed as numbers, without a branch per item
 * (whose outcome would be a coin flip for a random batch). `sorted` must hold no NaN.
 */
function countReaching(candScore: Float64Array, m: number, sorted: Float64Array, np: number, reach: Float64Array): void {
  for (let t = 0; t < np; t++) {
    const a = sorted[t]!;
    let count = 0;
    for (let i = 0; i < m; i++) count += +(a <= candScore[i]!);
    reach[t] = count;
  }
  reach[np] = 0;
}

/**
 * The backward pass's counts, as the search loop computes them: reach[t] = #{negatives with
 * s_j ≥ moved[t]}, and crossed[i] = the number of positives that cross candidate i. Every
 * positive only moves up, so the t-th smallest moved score is at least the t-th smallest
 * original one, and #{moved < v} − #{sorted < v} = −#{t : sorted[t] < v ≤ moved[t]}; an item
 * lies in such a narrow interval rarely, so that test branches predictably. Neither array may
 * hold NaN.
 */
function countCrossing(
  candScore: Float64Array,
  m: number,
  sorted: Float64Array,
  moved: Float64Array,
  np: number,
  reach: Float64Array,
  crossed: Float64Array,
): void {
  crossed.fill(0, 0, m);
  for (let t = 0; t < np; t++) {
    const a = sorted[t]!;
    const mt = moved[t]!;
    let count = 0;
    for (let i = 0; i < m; i++) {
      const v = candScore[i]!;
      count += +(mt <= v);
      // [a < v ≤ mt] = [v > a] − [v > mt], as mt ≥ a.
      if (+(v > a) - +(v > mt) !== 0) crossed[i]!++;
    }
    reach[t] = count;
  }
  reach[np] = 0;
}
