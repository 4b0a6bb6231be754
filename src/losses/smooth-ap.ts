import { fusedCompute, type LossKernel, type LossPlugin } from './types.js';
import { apBatch, meanValid } from './kernels/batch.js';
import { gram, gramBackward } from './kernels/gram.js';

/** σ at the clamp limits: the exponent −x/τ is clamped to [−50, 50] as in the paper's code. */
const SIG_AT_LOW_EXPONENT = 1 / (1 + Math.exp(-50));
const SIG_AT_HIGH_EXPONENT = 1 / (1 + Math.exp(50));
const EXP_50 = Math.exp(50);
const EXP_MINUS_50 = Math.exp(-50);

/**
 * Smooth-AP (Brown et al., ECCV 2020) as one fused float64 pass with its analytic gradient.
 *
 * For query q and each positive i, R_all(i) = 1 + Σ_{j≠i} σ((s_qj − s_qi)/τ) over the retrieval
 * set and R_pos(i) the same over the positives; AP_q = mean_i R_pos/R_all. Only the positives'
 * ranks are needed, so the sigmoid work is B·|P|·B and memory is O(B²) (one B×B array for S,
 * then ∂L/∂S, and a |P|×B scratch), never the paper's B×B×B tensors.
 */
export const smoothApKernel: LossKernel = (x, n, d, labels, params) => {
  const { groups, queries } = apBatch('smooth-ap', x, n, d, labels);
  const { classOf, members, start } = groups;
  const tau = params.tau as number;
  const includeQuery = params.includeQuery as boolean;

  // S is overwritten row by row with ∂L/∂S (query q reads and writes row q only): one B×B array.
  const s = gram(x, n, d);
  const gRow = new Float64Array(n);
  const ap = new Float64Array(n).fill(NaN);
  const maxPos = groups.maxClassSize;
  // σ'(·)/τ per (positive, item) of the current query, kept from the forward loop for the backward one.
  const dsig = new Float64Array(maxPos * n);
  const pos = new Int32Array(maxPos);
  const rAll = new Float64Array(maxPos);
  const rPos = new Float64Array(maxPos);
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
      let all = 1;
      for (let j = 0; j < n; j++) {
        if (j === i || j === skip) {
          dsig[base + j] = 0;
          continue;
        }
        const pe = fi * ev[j]!;
        let sg: number;
        if (pe > EXP_50) {
          sg = SIG_AT_HIGH_EXPONENT;
          dsig[base + j] = 0;
        } else if (pe < EXP_MINUS_50) {
          sg = SIG_AT_LOW_EXPONENT;
          dsig[base + j] = 0;
        } else {
          sg = 1 / (1 + pe);
          dsig[base + j] = sg * (1 - sg) * invTau;
        }
        all += sg;
      }
      // The positives' part of the same sums, recomputed over |P| items rather than tested per item.
      let inPos = 1;
      for (let pm = 0; pm < np; pm++) {
        if (pm === pi) continue;
        const pe = fi * ev[pos[pm]!]!;
        inPos += pe > EXP_50 ? SIG_AT_HIGH_EXPONENT : pe < EXP_MINUS_50 ? SIG_AT_LOW_EXPONENT : 1 / (1 + pe);
      }
      rAll[pi] = all;
      rPos[pi] = inPos;
      apSum += inPos / all;
    }
    ap[q] = apSum / np;

    // L = 1 − (1/Q) Σ_q (1/|P|) Σ_i R_pos/R_all: ∂L/∂σ_ij = w/R_all·[j ∈ P] − w·R_pos/R_all², w = −1/(Q|P|),
    // and ∂σ_ij/∂s_qj = −∂σ_ij/∂s_qi = σ'_ij/τ (stored in dsig, 0 where clamped).
    const w = -1 / (queries * np);
    gRow.fill(0);
    for (let pi = 0; pi < np; pi++) {
      const i = pos[pi]!;
      const base = pi * n;
      const cPos = w / rAll[pi]!;
      const cAll = (-w * rPos[pi]!) / (rAll[pi]! * rAll[pi]!);
      let sumAll = 0;
      for (let j = 0; j < n; j++) {
        const t = dsig[base + j]!;
        gRow[j] += cAll * t;
        sumAll += t;
      }
      let sumPos = 0;
      for (let pm = 0; pm < np; pm++) {
        const j = pos[pm]!;
        const t = dsig[base + j]!;
        gRow[j] += cPos * t;
        sumPos += t;
      }
      gRow[i] -= cAll * sumAll + cPos * sumPos;
    }
    s.set(gRow, row);
  }

  const grad = gramBackward(s, x, n, d);
  return { loss: 1 - meanValid(ap), grad, apPerQuery: ap };
};

const smoothAp: LossPlugin = {
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
  apConvention: (params) => ({ includeQuery: params.includeQuery as boolean }),
  compute: fusedCompute(smoothApKernel),
  kernel: smoothApKernel,
};

export default smoothAp;
