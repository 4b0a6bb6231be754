import { defineLoss, type LossKernel } from './types.js';
import { apBatch, meanValid, positivesOf } from './kernels/batch.js';
import { gram, gramBackward } from './kernels/gram.js';

/**
 * FastAP (Cakir et al., CVPR 2019): AP from soft histograms of d² = 2 − 2s over bins+1 centres
 * z_l = l·Δ, Δ = 4/bins, with the triangular kernel max(0, 1 − |d² − z_l|/Δ). Each item falls in
 * at most two adjacent bins, so a query costs O(B + bins) forward and backward, O(B²) in all
 * beside the shared matmul. The query itself is in neither histogram (standard convention).
 *
 * ∂L/∂s_qj depends only on j's lower bin l0 = ⌊d²/Δ⌋ and on whether j is a positive, so the
 * backward pass computes it once per (bin, positive or not) and each pair just looks up the
 * value of the slot it fell into during the forward pass (no second ⌊·⌋ or range test per pair).
 * The product (G+Gᵀ)·X cannot be shortened that way: summing each query's x_j per slot first
 * still adds every x_j once per query, B²·D additions, as many as the product's multiply-adds
 * and without its SIMD kernel.
 */
export const fastApKernel: LossKernel = (x, n, d, labels, params, ctx) => {
  const prec = { float32: ctx.precision === 'float32' };
  const { groups, queries } = apBatch('fast-ap', x, n, d, labels);
  const { classOf } = groups;
  const bins = params.bins as number;

  const L = bins + 1;
  const delta = 4 / bins;
  // Slots of one histogram: bin l at slot l + 2. A pair whose lower bin l0 is −1 or L−1 has one
  // of its two weights off the end, and one with l0 further out both: l0 is clamped to [−2, L],
  // so those weights land in the two slots at either end, which are never read. This keeps the
  // per-pair work free of range tests. Negatives' slots come first, positives' W further.
  const W = L + 4;
  const hist = new Float64Array(2 * W);
  // ∂L/∂s for a pair in slot k (its lower bin k − 2), negatives then positives as in `hist`.
  const gSlot = new Float64Array(2 * W);
  const slotOf = new Int32Array(n);
  // S is overwritten row by row with ∂L/∂S (query q reads and writes row q only).
  const s = gram(x, n, d, { ...prec, scratch: true });
  const ap = new Float64Array(n).fill(NaN);
  const cumPos = new Float64Array(L);
  const cumAll = new Float64Array(L);
  // ∂F/∂h⁺_l and ∂F/∂h⁻_l of the current query.
  const dPos = new Float64Array(L);
  const dNeg = new Float64Array(L);

  for (let q = 0; q < n; q++) {
    const nPos = positivesOf(groups, q);
    const row = q * n;
    if (nPos === 0) {
      s.fill(0, row, row + n);
      continue;
    }
    const c = classOf[q]!;
    hist.fill(0);
    for (let j = 0; j < n; j++) {
      if (j === q) continue;
      const u = (2 - 2 * s[row + j]!) / delta;
      const l0 = Math.floor(u);
      const frac = u - l0;
      const k = (classOf[j] === c ? W : 0) + (l0 < -2 ? 0 : l0 > L ? L + 2 : l0 + 2);
      hist[k]! += 1 - frac;
      hist[k + 1]! += frac;
      slotOf[j] = k;
    }
    // FastAP_q = (1/N⁺) Σ_l f_l, f_l = h⁺_l·H⁺_l/H_l over active bins (h⁺_l·H⁺_l > 0, H_l > 0).
    // For active l: ∂f_l/∂h⁺_m = [m=l]·H⁺_l/H_l + [m≤l]·(h⁺_l − f_l)/H_l and ∂f_l/∂h⁻_m = −[m≤l]·f_l/H_l;
    // the [m≤l] parts are suffix sums, collected from the top bin down.
    let cp = 0;
    let ca = 0;
    for (let l = 0; l < L; l++) {
      const hp = hist[W + l + 2]!;
      cp += hp;
      ca += hp + hist[l + 2]!;
      cumPos[l] = cp;
      cumAll[l] = ca;
    }
    let fsum = 0;
    let sufPos = 0;
    let sufNeg = 0;
    for (let l = L - 1; l >= 0; l--) {
      const hp = hist[W + l + 2]!;
      const f = hp * cumPos[l]!;
      const h = cumAll[l]!;
      let own = 0;
      if (f > 0 && h > 0) {
        const fl = f / h;
        fsum += fl;
        sufPos += (hp - fl) / h;
        sufNeg -= fl / h;
        own = cumPos[l]! / h;
      }
      dPos[l] = own + sufPos;
      dNeg[l] = sufNeg;
    }
    ap[q] = fsum / nPos;
    // ∂L/∂s_qj = −1/(Q·N⁺) · Σ_l ∂F/∂h_l · ∂δ_l/∂u · ∂u/∂s, with ∂u/∂s = −2/Δ and
    // ∂δ/∂u = −1 on bin l0, +1 on bin l0+1 (a bin off the end contributes 0).
    const scale = (-1 / (queries * nPos)) * (-2 / delta);
    for (let k = 0; k < W - 1; k++) {
      const lo = k - 2;
      const hi = k - 1;
      gSlot[k] = scale * ((hi >= 0 && hi < L ? dNeg[hi]! : 0) - (lo >= 0 && lo < L ? dNeg[lo]! : 0));
      gSlot[W + k] = scale * ((hi >= 0 && hi < L ? dPos[hi]! : 0) - (lo >= 0 && lo < L ? dPos[lo]! : 0));
    }
    for (let j = 0; j < n; j++) s[row + j] = gSlot[slotOf[j]!]!;
    s[row + q] = 0;
  }
  return { loss: 1 - meanValid(ap), grad: gramBackward(s, x, n, d, { ...prec, out: ctx.gradOut }), apPerQuery: ap };
};

const fastAp = defineLoss({
  name: 'fast-ap',
  description: 'FastAP (Cakir et al. 2019): 1 − AP from soft histograms of squared distances',
  params: [
    {
      name: 'bins',
      type: 'integer',
      default: 10,
      min: 1,
      max: 10000,
      doc: 'histogram bins over d² ∈ [0, 4] (the reality-check paper tuned 16 to 27)',
    },
  ],
  apConvention: () => ({ includeQuery: false }),
  kernel: fastApKernel,
});

export default fastAp;
