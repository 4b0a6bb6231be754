import { roundUp, ensureBytes } from '../../kernels/memory.js';
import { MR, NR } from '../../kernels/tile.js';
import { runPackedProduct, type LossEngine } from './matmul.js';
import { gramBackward } from './gram.js';
import { fastApExpand, tableSize } from './fast-ap-rows.js';
import { SCRATCH, scratchF64 } from './scratch.js';

/**
 * FastAP with float32 products (training's precision), every stage a pool job on the shared
 * memory: pack X (for S = X·Xᵀ and for the gradient's ·X), S, FastAP's per-query pass
 * (fast-ap-rows.ts) reading S and writing G = ∂L/∂S as slots and tables, G + Gᵀ packed from
 * them, (G+Gᵀ)·X. At B = 224 the
 * products take half of a step; run on this thread, the pass and the packing made most of the
 * rest, and S and the gradient were each copied out of the shared memory and back in.
 * The results are bit-for-bit those of gram(), the pass on this thread and gramBackward():
 * the same float32 operands, the same products, the same float64 pass.
 */

/** Rows of X per packing block and queries per pass block: a few dozen blocks at B = 224, so threads share evenly. */
const PACK_ROWS = 16;
const PASS_ROWS = 8;
/** Share of non-zero entries of G up to which gramBackward takes its sparse product (its SPARSE_MAX_SHARE). */
const SPARSE_MAX_SHARE = 1 / 16;

export interface FastApBatch {
  classOf: Int32Array;
  nPos: Int32Array;
  queries: number;
  bins: number;
}

/** Byte offsets of every array of one step in the shared memory, 16-byte aligned. */
function layout(n: number, d: number, bins: number) {
  const kp = roundUp(d, 4);
  const kpT = roundUp(n, 4);
  const mp = roundUp(n, MR);
  const np = roundUp(n, NR);
  const npT = roundUp(d, NR);
  let end = 0;
  const take = (bytes: number): number => {
    const at = end;
    end = roundUp(end + bytes, 16);
    return at;
  };
  const at = {
    aS: take(mp * kp * 4),
    bS: take(np * kp * 4),
    bT: take(npT * kpT * 4),
    cS: take(mp * np * 4),
    aG: take(mp * kpT * 4),
    cG: take(mp * npT * 4),
    x: take(n * d * 8),
    tables: take(n * tableSize(bins) * 8),
    slots: take(n * n * 2),
    ap: take(n * 8),
    classOf: take(n * 4),
    nPos: take(n * 4),
    nnz: take(Math.ceil(n / PACK_ROWS) * 4),
  };
  return { ...at, end, kp, kpT, np, npT };
}

/**
 * Bytes of one step's arrays in the shared memory past which this path steps aside: the jobs get
 * byte offsets as int32 parameters (about B = 14,000 at D = 512).
 */
const MAX_BYTES = 2 ** 31 - 1;

/**
 * FastAP's AP per query and gradient (into `gradOut` when given) for the float32 products; null
 * when the batch is too large for this path (the caller then runs the stages one after the other).
 */
export function fastApFloat32(
  eng: LossEngine,
  x: Float64Array,
  n: number,
  d: number,
  batch: FastApBatch,
  gradOut?: Float64Array,
): { ap: Float64Array; grad: Float64Array } | null {
  const at = layout(n, d, batch.bins);
  if (at.end > MAX_BYTES) return null;
  const buf = ensureBytes(eng.mem, at.end);
  new Float64Array(buf, at.x, n * d).set(x.subarray(0, n * d));
  new Int32Array(buf, at.classOf, n).set(batch.classOf);
  new Int32Array(buf, at.nPos, n).set(batch.nPos);
  const runner = eng.runner(n * n * d);
  const parts = runner.parts;
  const blocks = (rows: number, per: number) => Math.ceil(rows / per);
  // Each job's parameters in the order of its *_PARAMS list (pack-jobs.ts, fast-ap-rows.ts).

  runner.run('pack-gram-operands', [at.x, n, d, at.aS, at.bS, at.bT, at.kp, at.kpT, PACK_ROWS], blocks(n, PACK_ROWS), parts);
  runPackedProduct(runner, { aOff: at.aS, bOff: at.bS, cOff: at.cS, m: n, n, kp: at.kp, symmetric: true, float32: true });
  const { queries, bins } = batch;
  runner.run('fast-ap-rows', [at.cS, 4, at.np, at.slots, at.tables, at.classOf, at.nPos, at.ap, n, queries, bins, PASS_ROWS], blocks(n, PASS_ROWS), parts);
  const ap = new Float64Array(buf, at.ap, n).slice();
  const packBlocks = blocks(n, PACK_ROWS);
  runner.run('fast-ap-pack', [at.slots, at.tables, n, bins, at.aG, at.kpT, MR, PACK_ROWS, at.nnz], packBlocks, parts);

  let nz = 0;
  const nnz = new Int32Array(buf, at.nnz, packBlocks);
  for (let b = 0; b < packBlocks; b++) nz += nnz[b]!;
  if (nz <= SPARSE_MAX_SHARE * n * n) {
    // A mostly-zero G goes to gramBackward's sparse product, as on the other paths.
    const rows = { slots: new Uint16Array(buf, at.slots, n * n), tables: new Float64Array(buf, at.tables, n * tableSize(bins)), n, bins };
    return { ap, grad: gramBackward(fastApExpand(rows, scratchF64(SCRATCH.gram, n * n)), x, n, d, { float32: true, out: gradOut }) };
  }
  runPackedProduct(runner, { aOff: at.aG, bOff: at.bT, cOff: at.cG, m: n, n: d, kp: at.kpT, symmetric: false, float32: true });
  const grad = gradOut ? gradOut.subarray(0, n * d) : new Float64Array(n * d);
  const c = new Float32Array(buf, at.cG, n * at.npT);
  if (at.npT === d) grad.set(c.subarray(0, n * d));
  else for (let i = 0; i < n; i++) grad.set(c.subarray(i * at.npT, i * at.npT + d), i * d);
  return { ap, grad };
}
