import { Code, F32, F64, I32, LocalSlots, V128, op, wasmModule, type WasmFunction } from './wasm-asm.js';
import { F32X4, F64X2, type VecType } from './simd.js';
import { roundUp } from './memory.js';

/**
 * The kernels of the exact retrieval evaluation (metrics/wasm-gram.ts): similarity blocks
 * S = A·Bᵀ over row-major rows, and the histogram row pass of metrics/rank-positives.ts. The
 * module is generated for one padded row length so every load offset is an immediate.
 *
 * Summation order: each dot product is summed in 2 (f64) or 4 (f32) interleaved lanes, then
 * the lanes are added pairwise, so results can differ from a sequential sum in the last bits
 * (and from the loss side's tile kernel, tile.ts, which adds its lanes in order and its k
 * blocks separately; the evaluation's error bound is stated for this order).
 */

/**
 * Query rows and item rows per register tile: QT×JT vector accumulators. 4×2 with one vector
 * per step measured fastest here (about 20 GMAC/s per core in f32 with fused multiply-add,
 * against 12–14 for 2×4 unrolled twice): the item rows stream from L2 while the query rows stay
 * in L1, so fewer item loads per multiply-add win, and x64 has 16 vector registers for the
 * 8 accumulators and 6 operands (wider tiles spilled and ran at 11–15).
 */
export const QT = 4;
export const JT = 2;
/** SIMD vectors per step of the inner loop. */
const UNROLL = 1;
/** Item rows are padded to a multiple of this (zero rows, ignored by callers); jsGram steps 4 items at a time. */
export const ITEM_ALIGN = 4;
/** Query block sizes must be a multiple of this (jsGram steps 2 queries at a time). */
export const QUERY_ALIGN = QT;

/** Alignment the vector loads declare (log2 bytes): 8, a float64 element's, though rows start 32-byte aligned. */
const V128_ALIGN = 3;

/** Element type of the similarity kernel: float64 (exact scores) or float32 (twice the SIMD lanes). */
export type Precision = 'f32' | 'f64';

const VEC: Record<Precision, VecType> = { f64: F64X2, f32: F32X4 };

/** Row length (elements) is padded to a multiple of this. */
export function rowAlign(p: Precision): number {
  return VEC[p].lanes * UNROLL;
}

/**
 * The most roundings any product q_t·x_t goes through on its way into a `gram` score of rows
 * of d elements: its own rounding (none when fused, counted anyway), one per add into its lane
 * (each lane adds rowLen/lanes products in sequence), and one per level of the pairwise sum of
 * the lanes. The float32 error bound of the evaluation (metrics/retrieval-core.ts) rests on it.
 */
export function gramRoundingDepth(d: number, p: Precision): number {
  const lanes = VEC[p].lanes;
  return 1 + roundUp(d, rowAlign(p)) / lanes + Math.log2(lanes);
}

/**
 * gram(pa, qn, pb, jn, out, ostride): for q < qn, j < jn (byte addresses; qn a multiple of QT,
 * jn of JT, both > 0) out[q·ostride + j·bytes] = Σ_t A[q][t]·B[j][t] with rows of `rowLen`
 * elements. Each dot product is summed in `lanes` interleaved lanes, then the lanes are added.
 * `transposed` (gramT, one more parameter outT): each score is also stored at
 * outT[j·ostride + q·bytes], the tile read the other way, for a few stores more.
 */
export function gramFunction(rowLen: number, p: Precision, fma: boolean, transposed = false): WasmFunction {
  const E = VEC[p];
  const rowBytes = rowLen * E.bytes;
  const step = 16; // bytes per v128
  const slots = new LocalSlots();
  const { pa, qn, pb, jn, out, ostride } = slots.take('pa qn pb jn out ostride');
  const outT = transposed ? slots.take('outT').outT : -1;
  const nParams = slots.count;
  const { pq, qend, pj, jend, poRow, po, ta, tb, tend, poT, poTRow } = slots.take('pq qend pj jend poRow po ta tb tend poT poTRow');
  const nI32 = slots.count - nParams;
  // the score being stored (scalar of the element type)
  const { val } = slots.take('val');
  // v128 locals
  const accBase = slots.count;
  const acc = (k: number, l: number) => accBase + k * JT + l;
  const aBase = accBase + QT * JT;
  const bBase = aBase + QT;
  const nV128 = QT * JT + QT + JT;

  const c = new Code();
  c.emit(op.localGet(pa), op.localSet(pq));
  c.emit(op.localGet(pa), op.localGet(qn), op.i32Const(rowBytes), op.i32Mul, op.i32Add, op.localSet(qend));
  c.emit(op.localGet(out), op.localSet(poRow));
  if (transposed) c.emit(op.localGet(outT), op.localSet(poTRow));
  c.emit(op.loop); // over query tiles
  c.emit(op.localGet(pb), op.localSet(pj));
  c.emit(op.localGet(pb), op.localGet(jn), op.i32Const(rowBytes), op.i32Mul, op.i32Add, op.localSet(jend));
  c.emit(op.localGet(poRow), op.localSet(po));
  if (transposed) c.emit(op.localGet(poTRow), op.localSet(poT));
  c.emit(op.loop); // over item tiles
  for (let k = 0; k < QT; k++) for (let l = 0; l < JT; l++) c.emit(op.v128Zero, op.localSet(acc(k, l)));
  c.emit(op.localGet(pq), op.localSet(ta));
  c.emit(op.localGet(pj), op.localSet(tb));
  c.emit(op.localGet(pq), op.i32Const(rowBytes), op.i32Add, op.localSet(tend));
  c.emit(op.loop); // over the row, UNROLL vectors per step
  for (let u = 0; u < UNROLL; u++) {
    for (let k = 0; k < QT; k++) c.emit(op.localGet(ta), op.v128Load(k * rowBytes + u * step, V128_ALIGN), op.localSet(aBase + k));
    for (let l = 0; l < JT; l++) c.emit(op.localGet(tb), op.v128Load(l * rowBytes + u * step, V128_ALIGN), op.localSet(bBase + l));
    for (let k = 0; k < QT; k++) {
      for (let l = 0; l < JT; l++) {
        if (fma) c.emit(op.localGet(aBase + k), op.localGet(bBase + l), op.localGet(acc(k, l)), op.f32x4RelaxedMadd, op.localSet(acc(k, l)));
        else c.emit(op.localGet(acc(k, l)), op.localGet(aBase + k), op.localGet(bBase + l), E.vMul, E.vAdd, op.localSet(acc(k, l)));
      }
    }
  }
  c.emit(op.localGet(ta), op.i32Const(UNROLL * step), op.i32Add, op.localSet(ta));
  c.emit(op.localGet(tb), op.i32Const(UNROLL * step), op.i32Add, op.localSet(tb));
  c.emit(op.localGet(ta), op.localGet(tend), op.i32Ne, op.brIf(0));
  c.emit(op.end);
  for (let k = 0; k < QT; k++) {
    for (let l = 0; l < JT; l++) {
      c.emit(op.localGet(po));
      for (let r = 0; r < k; r++) c.emit(op.localGet(ostride), op.i32Add);
      // Pairwise: (l0 + l1) [+ (l2 + l3)].
      c.emit(op.localGet(acc(k, l)), E.extract(0), op.localGet(acc(k, l)), E.extract(1), E.add);
      if (E.lanes === 4) c.emit(op.localGet(acc(k, l)), E.extract(2), op.localGet(acc(k, l)), E.extract(3), E.add, E.add);
      if (!transposed) {
        c.emit(E.store(E.bytes * l));
        continue;
      }
      c.emit(op.localTee(val), E.store(E.bytes * l), op.localGet(poT));
      for (let r = 0; r < l; r++) c.emit(op.localGet(ostride), op.i32Add);
      c.emit(op.localGet(val), E.store(E.bytes * k));
    }
  }
  c.emit(op.localGet(po), op.i32Const(JT * E.bytes), op.i32Add, op.localSet(po));
  if (transposed) {
    c.emit(op.localGet(poT));
    for (let r = 0; r < JT; r++) c.emit(op.localGet(ostride), op.i32Add);
    c.emit(op.localSet(poT));
  }
  c.emit(op.localGet(pj), op.i32Const(JT * rowBytes), op.i32Add, op.localSet(pj));
  c.emit(op.localGet(pj), op.localGet(jend), op.i32Ne, op.brIf(0));
  c.emit(op.end);
  c.emit(op.localGet(pq), op.i32Const(QT * rowBytes), op.i32Add, op.localSet(pq));
  c.emit(op.localGet(poRow));
  for (let r = 0; r < QT; r++) c.emit(op.localGet(ostride), op.i32Add);
  c.emit(op.localSet(poRow));
  if (transposed) c.emit(op.localGet(poTRow), op.i32Const(QT * E.bytes), op.i32Add, op.localSet(poTRow));
  c.emit(op.localGet(pq), op.localGet(qend), op.i32Ne, op.brIf(0));
  c.emit(op.end);
  return {
    name: transposed ? 'gramT' : 'gram',
    params: new Array<number>(nParams).fill(I32),
    results: [],
    locals: [
      [nI32, I32],
      [1, E.bytes === 4 ? F32 : F64],
      [nV128, V128],
    ],
    code: c,
  };
}

/**
 * histogram(row, len, lo, scale, ceil, hist, firstPos, cand, candBucket) → count: for each
 * j < len with s = row[j] (as f64) and v = (s − lo)·scale, bucket b = trunc(min(max(floor(v), −1),
 * ceil)) + 1 with ceil = top + 0.5; then hist[b]++, and j with its bucket is appended to cand
 * and candBucket when firstPos[b] ≥ 0 (a bucket near a positive). That is the bucket
 * rank-positives.ts's bucketOf gives, from the same f64 operations: v < 0 goes to bucket 0 in
 * both, floor and trunc agree for v ≥ 0, and both stop at top + 1. Byte addresses; hist,
 * firstPos, cand and candBucket are i32 arrays.
 *
 * The bucket arithmetic runs on two items per f64x2 (four loaded per f32 vector); the appends
 * are branch-free (always written, the count advanced by the test), so a candidate costs no
 * mispredicted branch.
 */
function histogramFunction(p: Precision): WasmFunction {
  const E = VEC[p];
  const [row, len, lo, scale, ceil, hist, firstPos, cand, candBucket] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [j, ptr, nOff, b, addr, vecEnd] = [9, 10, 11, 12, 13, 14];
  const [vlo, vscale, vceil, vm1, vx, vi] = [15, 16, 17, 18, 19, 20];
  const c = new Code();
  const splat = (from: number, to: number) => c.emit(op.localGet(from), op.f64x2Splat, op.localSet(to));
  splat(lo, vlo);
  splat(scale, vscale);
  splat(ceil, vceil);
  c.emit(op.f64Const(-1), op.f64x2Splat, op.localSet(vm1));
  c.emit(op.i32Const(0), op.localSet(j), op.localGet(row), op.localSet(ptr), op.i32Const(0), op.localSet(nOff));
  // f64x2 scores on the stack → their bucket indices minus one in lanes 0 and 1 of vi.
  const buckets = () =>
    c.emit(
      op.localGet(vlo),
      op.f64x2Sub,
      op.localGet(vscale),
      op.f64x2Mul,
      op.f64x2Floor,
      op.localGet(vm1),
      op.f64x2Pmax,
      op.localGet(vceil),
      op.f64x2Pmin,
      op.i32x4TruncSatF64x2SZero,
      op.localSet(vi),
    );
  const item = (lane: number, offset: number) => {
    c.emit(op.localGet(vi), op.i32x4ExtractLane(lane), op.i32Const(1), op.i32Add, op.localSet(b));
    c.emit(op.localGet(hist), op.localGet(b), op.i32Const(2), op.i32Shl, op.i32Add, op.localTee(addr));
    c.emit(op.localGet(addr), op.i32Load(0), op.i32Const(1), op.i32Add, op.i32Store(0));
    c.emit(op.localGet(cand), op.localGet(nOff), op.i32Add, op.localGet(j), op.i32Const(offset), op.i32Add, op.i32Store(0));
    c.emit(op.localGet(candBucket), op.localGet(nOff), op.i32Add, op.localGet(b), op.i32Store(0));
    c.emit(op.localGet(nOff), op.localGet(firstPos), op.localGet(b), op.i32Const(2), op.i32Shl, op.i32Add, op.i32Load(0));
    c.emit(op.i32Const(0), op.i32GeS, op.i32Const(2), op.i32Shl, op.i32Add, op.localSet(nOff));
  };
  // Whole vectors first.
  const perVec = E.lanes;
  c.emit(op.localGet(row), op.localGet(len), op.i32Const(-perVec), op.i32And, op.i32Const(E.bytes), op.i32Mul, op.i32Add, op.localSet(vecEnd));
  c.emit(op.block, op.loop);
  c.emit(op.localGet(ptr), op.localGet(vecEnd), op.i32GeU, op.brIf(1));
  c.emit(op.localGet(ptr), op.v128Load(0, 2), op.localSet(vx));
  if (p === 'f32') {
    c.emit(op.localGet(vx), op.f64x2PromoteLowF32x4);
    buckets();
    item(0, 0);
    item(1, 1);
    c.emit(op.localGet(vx), op.localGet(vx), op.i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]), op.f64x2PromoteLowF32x4);
    buckets();
    item(0, 2);
    item(1, 3);
  } else {
    c.emit(op.localGet(vx));
    buckets();
    item(0, 0);
    item(1, 1);
  }
  c.emit(op.localGet(ptr), op.i32Const(16), op.i32Add, op.localSet(ptr));
  c.emit(op.localGet(j), op.i32Const(perVec), op.i32Add, op.localSet(j));
  c.emit(op.br(0), op.end, op.end);
  // The last len mod lanes items, one at a time through the same arithmetic.
  c.emit(op.block, op.loop);
  c.emit(op.localGet(j), op.localGet(len), op.i32GeU, op.brIf(1));
  c.emit(op.localGet(ptr), E.load(0), E.toF64, op.f64x2Splat);
  buckets();
  item(0, 0);
  c.emit(op.localGet(ptr), op.i32Const(E.bytes), op.i32Add, op.localSet(ptr));
  c.emit(op.localGet(j), op.i32Const(1), op.i32Add, op.localSet(j));
  c.emit(op.br(0), op.end, op.end);
  c.emit(op.localGet(nOff), op.i32Const(2), op.i32ShrU);
  return {
    name: 'histogram',
    params: [I32, I32, F64, F64, F64, I32, I32, I32, I32],
    results: [I32],
    locals: [
      [6, I32],
      [6, V128],
    ],
    code: c,
  };
}

/**
 * The module: `gram` and `histogram` for rows of `rowLen` elements (see rowAlign), with its own
 * (exported, not shared) memory. `fma` (f32 only; needs relaxed SIMD, see relaxed-simd.ts): the
 * products accumulate with a fused multiply-add where the CPU has one.
 */
export function similarityModule(rowLen: number, p: Precision, fma = false): Uint8Array {
  if (fma && p !== 'f32') throw new Error('similarityModule: fma is for the f32 kernel only');
  return wasmModule([gramFunction(rowLen, p, fma), histogramFunction(p)], { kind: 'export', maxPages: 65536 });
}
