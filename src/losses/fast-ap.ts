import { defineLoss, type LossKernel } from './types.js';
import { apBatch, meanValid, positivesOf } from './kernels/batch.js';
import { gram, gramBackward } from './kernels/gram.js';
import { fastApExpand, fastApRows, tableSize } from './kernels/fast-ap-rows.js';
import { fastApFloat32 } from './kernels/fast-ap-f32.js';
import { lossEngine } from './kernels/matmul.js';

/**
 * FastAP (Cakir et al., CVPR 2019): AP from soft histograms of d² = 2 − 2s over bins+1 centres
 * z_l = l·Δ, Δ = 4/bins, with the triangular kernel max(0, 1 − |d² − z_l|/Δ); the per-query pass
 * and its gradient are in kernels/fast-ap-rows.ts, O(B + bins) a query beside the shared matmul.
 * The product (G+Gᵀ)·X cannot be shortened by the pass's bins: summing each query's x_j per slot
 * first still adds every x_j once per query, B²·D additions, as many as the product's
 * multiply-adds and without its SIMD kernel.
 *
 * With float32 products and the SIMD engine, every stage runs as a job on the worker threads
 * (kernels/fast-ap-f32.ts; up to about B = 14,000 at D = 512); otherwise S, the pass and the
 * gradient run here in turn. Both give the same bits for the same precision.
 */
export const fastApKernel: LossKernel = (x, n, d, labels, params, ctx) => {
  const { groups, queries } = apBatch('fast-ap', x, n, d, labels);
  const bins = params.bins as number;
  const nPos = new Int32Array(n);
  for (let q = 0; q < n; q++) nPos[q] = positivesOf(groups, q);
  const batch = { classOf: groups.classOf, nPos, queries, bins };
  const eng = ctx.precision === 'float32' ? lossEngine() : null;
  const shared = eng && fastApFloat32(eng, x, n, d, batch, ctx.gradOut);
  if (shared) return { loss: 1 - meanValid(shared.ap), grad: shared.grad, apPerQuery: shared.ap };
  const prec = { float32: ctx.precision === 'float32' };
  const s = gram(x, n, d, { ...prec, scratch: true });
  const rows = { s, ld: n, n, ...passArrays(n * n, n * tableSize(bins)), ...batch, ap: new Float64Array(n) };
  fastApRows(rows, 0, n);
  // The pass is done with S: G = ∂L/∂S overwrites it.
  const g = fastApExpand(rows, s);
  return { loss: 1 - meanValid(rows.ap), grad: gramBackward(g, x, n, d, { ...prec, out: ctx.gradOut }), apPerQuery: rows.ap };
};

/**
 * The pass's slots and tables on this thread, kept from call to call as the kernels' scratch is
 * (scratch.ts: a fresh multi-megabyte array costs a page fault per 4 KB on its first write).
 */
let kept = { slots: new Uint16Array(0), tables: new Float64Array(0) };

function passArrays(pairs: number, entries: number): { slots: Uint16Array; tables: Float64Array } {
  if (kept.slots.length < pairs) kept = { ...kept, slots: new Uint16Array(pairs) };
  if (kept.tables.length < entries) kept = { ...kept, tables: new Float64Array(entries) };
  return { slots: kept.slots.subarray(0, pairs), tables: kept.tables.subarray(0, entries) };
}

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
