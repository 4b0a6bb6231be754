import { fusedCompute, type LossKernel, type LossPlugin } from './types.js';
import { checkBatch, groupLabels, meanValid, noPositivesError } from './kernels/batch.js';
import { gram, gramBackward } from './kernels/gram.js';
import { countAtLeast } from './kernels/ranks.js';

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
 * Only positives move in s + λg, so a negative's rank changes only through the positives that
 * cross it: O(|P|) per item after one sort of the negatives, O(B² log B) in all.
 */
export const blackboxApKernel: LossKernel = (x, n, d, labels, params, ctx) => {
  checkBatch('blackbox-ap', x, n, d, labels);
  const lambda = params.lambda as number;
  const margin = params.margin as number;
  const groups = groupLabels(labels);
  const { classOf, members, start } = groups;
  let queries = 0;
  for (let q = 0; q < n; q++) {
    const c = classOf[q]!;
    if (start[c + 1]! - start[c]! >= 2) queries++;
  }
  if (queries === 0) throw noPositivesError('blackbox-ap', n);

  const s = gram(x, n, d);
  // The shift is drawn for every score in row-major order, so a seed fixes it regardless of labels.
  if (margin > 0) {
    for (let q = 0; q < n; q++) {
      const c = classOf[q]!;
      for (let j = 0; j < n; j++) {
        const shift = (margin * Math.abs(ctx.rng.normal())) / 2;
        s[q * n + j] += classOf[j] === c ? -shift : shift;
      }
    }
  }

  // S is overwritten row by row with ∂L/∂S (query q reads and writes row q only).
  const gRow = new Float64Array(n);
  const ap = new Float64Array(n).fill(NaN);
  const maxPos = groups.maxClassSize;
  const negSorted = new Float64Array(n);
  const posScore = new Float64Array(maxPos);
  const posMoved = new Float64Array(maxPos);
  const posIdx = new Int32Array(maxPos);

  for (let q = 0; q < n; q++) {
    const c = classOf[q]!;
    const c0 = start[c]!;
    const np = start[c + 1]! - c0;
    const row = q * n;
    if (np < 2) {
      s.fill(0, row, row + n);
      continue;
    }
    let nn = 0;
    for (let j = 0; j < n; j++) if (classOf[j] !== c) negSorted[nn++] = s[row + j]!;
    const neg = negSorted.subarray(0, nn).sort();
    for (let k = 0; k < np; k++) {
      posIdx[k] = members[c0 + k]!;
      posScore[k] = s[row + posIdx[k]!]!;
    }
    // Forward ranks, and g_i = ∂L/∂r_i = rank⁺_i / (Q·|P|·B·r_i²) for each positive.
    let apSum = 0;
    for (let k = 0; k < np; k++) {
      const v = posScore[k]!;
      let rankPos = 0;
      for (let m = 0; m < np; m++) if (posScore[m]! >= v) rankPos++;
      const rank = rankPos + countAtLeast(neg, v);
      apSum += rankPos / rank;
      const r = rank / n;
      posMoved[k] = v + lambda * (rankPos / (queries * np * n * r * r));
    }
    ap[q] = apSum / np;

    // ∂L/∂s_j = −(r_j − r'_j)/λ with r' the normalised ranks under the moved positives.
    const scale = -1 / (lambda * n);
    gRow.fill(0);
    for (let k = 0; k < np; k++) {
      const v = posScore[k]!;
      const v2 = posMoved[k]!;
      let before = countAtLeast(neg, v);
      let after = countAtLeast(neg, v2);
      for (let m = 0; m < np; m++) {
        if (posScore[m]! >= v) before++;
        if (posMoved[m]! >= v2) after++;
      }
      gRow[posIdx[k]!] = scale * (before - after);
    }
    for (let j = 0; j < n; j++) {
      if (classOf[j] === c) continue;
      const v = s[row + j]!;
      let delta = 0;
      for (let m = 0; m < np; m++) delta += (posScore[m]! >= v ? 1 : 0) - (posMoved[m]! >= v ? 1 : 0);
      gRow[j] = scale * delta;
    }
    s.set(gRow, row);
  }
  return { loss: 1 - meanValid(ap), grad: gramBackward(s, x, n, d), apPerQuery: ap };
};

const blackboxAp: LossPlugin = {
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
  compute: fusedCompute(blackboxApKernel),
  kernel: blackboxApKernel,
};

export default blackboxAp;
