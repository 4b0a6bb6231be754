import { defineLoss, type LossKernel } from './types.js';
import { apBatch, meanValid } from './kernels/batch.js';
import { gram, gramBackward } from './kernels/gram.js';

/**
 * The exponent −x/τ of σ is clamped to [−50, 50] as in the paper's code; clamping p = e^(−x/τ)
 * to [e^−50, e^50] gives the same σ, and a clamped pair has zero gradient.
 */
const EXP_50 = Math.exp(50);
const EXP_MINUS_50 = Math.exp(-50);

/**
 * acc + Σ σ_j over j in [j0, j1), σ_j = 1/(1 + fi·ev_j) clamped; stores σ'_j/τ (0 where clamped)
 * in dsig[base + j]. Branch-free apart from the loop, so the JIT keeps one tight loop.
 */
function sigmoidRun(acc: number, fi: number, ev: Float64Array, dsig: Float64Array, base: number, j0: number, j1: number, invTau: number): number {
  for (let j = j0; j < j1; j++) {
    const pe = fi * ev[j]!;
    const pc = Math.min(EXP_50, Math.max(EXP_MINUS_50, pe));
    const sg = 1 / (1 + pc);
    dsig[base + j] = pc === pe ? sg * (1 - sg) * invTau : 0;
    acc += sg;
  }
  return acc;
}

/**
 * Smooth-AP (Brown et al., ECCV 2020) as one fused float64 pass with its analytic gradient.
 *
 * For query q and each positive i, R_all(i) = 1 + Σ_{j≠i} σ((s_qj − s_qi)/τ) over the retrieval
 * set and R_pos(i) the same over the positives; AP_q = mean_i R_pos/R_all. Only the positives'
 * ranks are needed, so the sigmoid work is B·|P|·B and memory is O(B²) (one B×B array for S,
 * then ∂L/∂S, and a |P|×B scratch), never the paper's B×B×B tensors.
 */
export const smoothApKernel: LossKernel = (x, n, d, labels, params, ctx) => {
  const prec = { float32: ctx.precision === 'float32' };
  const { groups, queries } = apBatch('smooth-ap', x, n, d, labels);
  const { classOf, members, start } = groups;
  const tau = params.tau as number;
  const includeQuery = params.includeQuery as boolean;

  // S is overwritten row by row with ∂L/∂S (query q reads and writes row q only): one B×B array.
  const s = gram(x, n, d, { ...prec, scratch: true });
  const ap = new Float64Array(n).fill(NaN);
  const maxPos = groups.maxClassSize;
  // σ'(·)/τ per (positive, item) of the current query, kept from the forward loop for the backward one.
  const dsig = new Float64Array(maxPos * n);
  const pos = new Int32Array(maxPos);
  const rAll = new Float64Array(maxPos);
  const rPos = new Float64Array(maxPos);
  const cAll = new Float64Array(maxPos);
  const cPos = new Float64Array(maxPos);
  const sumAll = new Float64Array(maxPos);
  const sumPos = new Float64Array(maxPos);
  const expNeg = new Float64Array(n);
  const pairExp = new Float64Array(n);
  const invTau = 1 / tau;

  for (let q = 0; q < n; q++) {
    const c = classOf[q]!;
    const c0 = start[c]!;
    const c1 = start[c + 1]!;
    const row = q * n;
    if (c1 - c0 < 2) {
      s.fill(0, row, row + n);
      continue;
    }
    let np = 0;
    for (let m = c0; m < c1; m++) {
      const i = members[m]!;
      if (includeQuery || i !== q) pos[np++] = i;
    }
    // The query is skipped as a retrieval item only when it is excluded (it is never a positive then).
    const skip = includeQuery ? -1 : q;
    // p_ij = exp((s_i − s_j)/τ) = exp((s_i − c)/τ)·exp((c − s_j)/τ): B exps per query instead of
    // |P|·B. With c mid-range both factors stay finite unless the row spans more than ~1200·τ;
    // such rows get exact per-pair exps (clamped just past ±50 so they stay finite).
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < n; j++) {
      const v = s[row + j]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const factored = (hi - lo) * 0.5 * invTau < 600;
    const mid = 0.5 * (hi + lo);
    if (factored) for (let j = 0; j < n; j++) expNeg[j] = Math.exp((mid - s[row + j]!) * invTau);
    let apSum = 0;
    for (let pi = 0; pi < np; pi++) {
      const i = pos[pi]!;
      const si = s[row + i]!;
      let fi = 1;
      let ev = expNeg;
      if (factored) fi = Math.exp((si - mid) * invTau);
      else {
        ev = pairExp;
        for (let j = 0; j < n; j++) pairExp[j] = Math.exp(Math.min(51, Math.max(-51, (si - s[row + j]!) * invTau)));
      }
      const base = pi * n;
      // The item itself (and the excluded query) split the row into runs without per-item tests;
      // the runs are summed in index order, so the sum is the one a single tested loop gives.
      const a = skip < 0 ? i : Math.min(i, skip);
      const b = skip < 0 ? i : Math.max(i, skip);
      let all = sigmoidRun(1, fi, ev, dsig, base, 0, a, invTau);
      dsig[base + a] = 0;
      if (b > a) {
        all = sigmoidRun(all, fi, ev, dsig, base, a + 1, b, invTau);
        dsig[base + b] = 0;
      }
      all = sigmoidRun(all, fi, ev, dsig, base, b + 1, n, invTau);
      // The positives' part of the same sums, recomputed over |P| items rather than tested per item.
      let inPos = 1;
      for (let pm = 0; pm < np; pm++) {
        if (pm === pi) continue;
        inPos += 1 / (1 + Math.min(EXP_50, Math.max(EXP_MINUS_50, fi * ev[pos[pm]!]!)));
      }
      rAll[pi] = all;
      rPos[pi] = inPos;
      apSum += inPos / all;
    }
    ap[q] = apSum / np;

    // L = 1 − (1/Q) Σ_q (1/|P|) Σ_i R_pos/R_all: ∂L/∂σ_ij = w/R_all·[j ∈ P] − w·R_pos/R_all², w = −1/(Q|P|),
    // and ∂σ_ij/∂s_qj = −∂σ_ij/∂s_qi = σ'_ij/τ (stored in dsig, 0 where clamped).
    const w = -1 / (queries * np);
    for (let pi = 0; pi < np; pi++) {
      cPos[pi] = w / rAll[pi]!;
      cAll[pi] = (-w * rPos[pi]!) / (rAll[pi]! * rAll[pi]!);
    }
    // Every item's cAll terms, added in positive order as one pass per positive would, but four
    // positives per pass over the row (a + b + c is evaluated left to right, so the sums are
    // identical); the positives' entries, which interleave cPos terms, are redone below.
    s.fill(0, row, row + n);
    let pi = 0;
    for (; pi + 4 <= np; pi += 4) {
      const c0 = cAll[pi]!;
      const c1 = cAll[pi + 1]!;
      const c2 = cAll[pi + 2]!;
      const c3 = cAll[pi + 3]!;
      const b0 = pi * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      let u0 = 0;
      let u1 = 0;
      let u2 = 0;
      let u3 = 0;
      for (let j = 0; j < n; j++) {
        const t0 = dsig[b0 + j]!;
        const t1 = dsig[b1 + j]!;
        const t2 = dsig[b2 + j]!;
        const t3 = dsig[b3 + j]!;
        s[row + j] = s[row + j]! + c0 * t0 + c1 * t1 + c2 * t2 + c3 * t3;
        u0 += t0;
        u1 += t1;
        u2 += t2;
        u3 += t3;
      }
      sumAll[pi] = u0;
      sumAll[pi + 1] = u1;
      sumAll[pi + 2] = u2;
      sumAll[pi + 3] = u3;
    }
    for (; pi < np; pi++) {
      const c = cAll[pi]!;
      const base = pi * n;
      let u = 0;
      for (let j = 0; j < n; j++) {
        const t = dsig[base + j]!;
        s[row + j]! += c * t;
        u += t;
      }
      sumAll[pi] = u;
    }
    for (let pi = 0; pi < np; pi++) {
      let u = 0;
      for (let pm = 0; pm < np; pm++) u += dsig[pi * n + pos[pm]!]!;
      sumPos[pi] = u;
    }
    // A positive's entry: per positive, its cAll then cPos term, and its own row's correction.
    for (let pm = 0; pm < np; pm++) {
      const j = pos[pm]!;
      let v = 0;
      for (let pi = 0; pi < np; pi++) {
        const t = dsig[pi * n + j]!;
        v += cAll[pi]! * t;
        v += cPos[pi]! * t;
        if (pi === pm) v -= cAll[pi]! * sumAll[pi]! + cPos[pi]! * sumPos[pi]!;
      }
      s[row + j] = v;
    }
  }

  const grad = gramBackward(s, x, n, d, { ...prec, out: ctx.gradOut });
  return { loss: 1 - meanValid(ap), grad, apPerQuery: ap };
};

const smoothAp = defineLoss({
  name: 'smooth-ap',
  description: 'Smooth-AP (Brown et al. 2020): 1 − AP with ranks relaxed by a sigmoid of temperature tau',
  params: [
    {
      name: 'tau',
      type: 'number',
      default: 0.01,
      min: 0,
      minExclusive: true,
      doc: 'sigmoid temperature: smaller tracks the true AP more tightly, larger gives gradient to more pairs',
    },
    {
      name: 'includeQuery',
      type: 'boolean',
      default: true,
      doc: "query in its own retrieval and positive sets (the paper's code); false: in neither (standard AP)",
    },
  ],
  apConvention: (params) => ({ includeQuery: params.includeQuery }),
  kernel: smoothApKernel,
});

export default smoothAp;
