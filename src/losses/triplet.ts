import { UserError } from '../core/errors.js';
import { defineLoss, type LossKernel } from './types.js';
import { checkBatch, groupLabels } from './kernels/batch.js';
import { gram, gramBackward } from './kernels/gram.js';
import { SCRATCH, scratchF64 } from './kernels/scratch.js';

export const MINING = ['all', 'semihard', 'hard', 'batch-hard'] as const;

/** Below this squared distance a pair counts as coincident: its distance has no direction to differentiate. */
const COINCIDENT_SQ = 1e-24;

/**
 * Triplet loss with in-batch mining, on Euclidean distances d_ij = ‖x_i − x_j‖ computed from the
 * Gram matrix (d² = s_ii + s_jj − 2 s_ij), so the B²·D part is the shared matmul. With
 * t = d_an − d_ap: all keeps t ≤ margin, hard t ≤ 0, semihard 0 < t ≤ margin; batch-hard takes,
 * per anchor, the farthest positive and the closest negative. The loss is the mean of
 * relu(d_ap − d_an + margin) over the selected triplets whose loss is > 0 (0 when there are none);
 * mining is a selection, constant in the backward pass.
 */
export const tripletKernel: LossKernel = (x, n, d, labels, params, ctx) => {
  const prec = { float32: ctx.precision === 'float32' };
  checkBatch('triplet', x, n, d, labels);
  const margin = params.margin as number;
  const mining = params.mining as (typeof MINING)[number];
  const { classOf, members, start } = groupLabels(labels);

  // Two B×B arrays in all: S becomes the distances in place, and ∂L/∂d becomes ∂L/∂S in place.
  const dist = gram(x, n, d, { ...prec, scratch: true });
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = dist[i * n + i]!;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const sq = norms[i]! + norms[j]! - 2 * dist[i * n + j]!;
      dist[i * n + j] = i === j || sq <= COINCIDENT_SQ ? 0 : Math.sqrt(sq);
    }
  }

  // ∂L/∂d_ij, before the 1/N of the mean (N is only known at the end).
  const gd = scratchF64(SCRATCH.pairs, n * n, true);
  let count = 0;
  let sum = 0;
  let anchors = 0;
  for (let a = 0; a < n; a++) {
    const c = classOf[a]!;
    const c0 = start[c]!;
    const c1 = start[c + 1]!;
    if (c1 - c0 < 2 || c1 - c0 === n) continue;
    anchors++;
    const row = a * n;
    if (mining === 'batch-hard') {
      let p = -1;
      for (let m = c0; m < c1; m++) {
        const j = members[m]!;
        if (j !== a && (p < 0 || dist[row + j]! > dist[row + p]!)) p = j;
      }
      let q = -1;
      for (let j = 0; j < n; j++) if (classOf[j] !== c && (q < 0 || dist[row + j]! < dist[row + q]!)) q = j;
      const l = dist[row + p]! - dist[row + q]! + margin;
      if (l > 0) {
        count++;
        sum += l;
        gd[row + p]! += 1;
        gd[row + q]! -= 1;
      }
      continue;
    }
    for (let m = c0; m < c1; m++) {
      const p = members[m]!;
      if (p === a) continue;
      const dap = dist[row + p]!;
      let used = 0;
      for (let j = 0; j < n; j++) {
        if (classOf[j] === c) continue;
        const t = dist[row + j]! - dap;
        const keep = mining === 'all' ? t <= margin : mining === 'hard' ? t <= 0 : t > 0 && t <= margin;
        const l = margin - t;
        if (!keep || !(l > 0)) continue;
        used++;
        sum += l;
        gd[row + j]! -= 1;
      }
      count += used;
      gd[row + p]! += used;
    }
  }
  if (anchors === 0) {
    throw new UserError(
      `loss triplet: no anchor in the batch of ${n} has both a positive and a negative, so there is no triplet; ` +
        'a batch needs a class with 2 or more items and at least 2 classes',
    );
  }
  if (count === 0) return { loss: 0, grad: ctx.gradOut ? ctx.gradOut.subarray(0, n * d).fill(0) : new Float64Array(n * d) };

  // d_ij = √(s_ii + s_jj − 2 s_ij): ∂d/∂s_ij = −1/d, ∂d/∂s_ii = ∂d/∂s_jj = 1/(2d). The diagonal of
  // ∂L/∂d is zero (no triplet pairs an item with itself), so it collects the s_ii terms at the end.
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const w = gd[i * n + j]!;
      const dij = dist[i * n + j]!;
      if (w === 0 || dij === 0) {
        gd[i * n + j] = 0;
        continue;
      }
      const h = w / (count * dij);
      gd[i * n + j] = -h;
      diag[i]! += 0.5 * h;
      diag[j]! += 0.5 * h;
    }
  }
  for (let i = 0; i < n; i++) gd[i * n + i] = diag[i]!;
  return { loss: sum / count, grad: gramBackward(gd, x, n, d, { ...prec, out: ctx.gradOut }) };
};

const triplet = defineLoss({
  name: 'triplet',
  description: 'Triplet margin loss on Euclidean distances with in-batch mining (all, semihard, hard, batch-hard)',
  params: [
    { name: 'margin', type: 'number', default: 0.1, min: 0, doc: 'required gap between d(anchor, negative) and d(anchor, positive)' },
    {
      name: 'mining',
      type: 'enum',
      default: 'semihard',
      values: MINING,
      doc: 'triplets used, by t = d_an − d_ap: all t ≤ margin, hard t ≤ 0, semihard 0 < t ≤ margin; batch-hard per anchor',
    },
  ],
  kernel: tripletKernel,
});

export default triplet;
