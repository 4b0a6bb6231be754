import { Code, F64, I32, V128, op, wasmModule, type WasmFunction } from './wasm-asm.js';
import { F32X4, F64X2, type VecType } from './simd.js';

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

/** Query rows and item rows per register tile: QT×JT vector accumulators (jsGram assumes 2×4). */
export const QT = 2;
export const JT = 4;
/** SIMD vectors per unrolled step of the inner loop. */
const UNROLL = 2;
/** Item rows are padded to a multiple of this (zero rows, ignored by callers). */
export const ITEM_ALIGN = JT;
/** Query block sizes must be a multiple of this. */
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
 * gram(pa, qn, pb, jn, out, ostride): for q < qn, j < jn (byte addresses; qn a multiple of QT,
 * jn of JT, both > 0) out[q·ostride + j·bytes] = Σ_t A[q][t]·B[j][t] with rows of `rowLen`
 * elements. Each dot product is summed in `lanes` interleaved lanes, then the lanes are added.
 */
function gramFunction(rowLen: number, p: Precision): WasmFunction {
  const E = VEC[p];
  const rowBytes = rowLen * E.bytes;
  const step = 16; // bytes per v128
  // params
  const pa = 0,
    qn = 1,
    pb = 2,
    jn = 3,
    out = 4,
    ostride = 5;
  // i32 locals
  const pq = 6,
    qend = 7,
    pj = 8,
    jend = 9,
    poRow = 10,
    po = 11,
    ta = 12,
    tb = 13,
    tend = 14;
  const nI32 = 9;
  // v128 locals
  const accBase = 6 + nI32;
  const acc = (k: number, l: number) => accBase + k * JT + l;
  const aBase = accBase + QT * JT;
  const bBase = aBase + QT;
  const nV128 = QT * JT + QT + JT;

  const c = new Code();
  c.emit(op.localGet(pa), op.localSet(pq));
  c.emit(op.localGet(pa), op.localGet(qn), op.i32Const(rowBytes), op.i32Mul, op.i32Add, op.localSet(qend));
  c.emit(op.localGet(out), op.localSet(poRow));
  c.emit(op.loop); // over query tiles
  c.emit(op.localGet(pb), op.localSet(pj));
  c.emit(op.localGet(pb), op.localGet(jn), op.i32Const(rowBytes), op.i32Mul, op.i32Add, op.localSet(jend));
  c.emit(op.localGet(poRow), op.localSet(po));
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
        c.emit(op.localGet(acc(k, l)), op.localGet(aBase + k), op.localGet(bBase + l), E.vMul, E.vAdd, op.localSet(acc(k, l)));
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
      c.emit(E.store(E.bytes * l));
    }
  }
  c.emit(op.localGet(po), op.i32Const(JT * E.bytes), op.i32Add, op.localSet(po));
  c.emit(op.localGet(pj), op.i32Const(JT * rowBytes), op.i32Add, op.localSet(pj));
  c.emit(op.localGet(pj), op.localGet(jend), op.i32Ne, op.brIf(0));
  c.emit(op.end);
  c.emit(op.localGet(pq), op.i32Const(QT * rowBytes), op.i32Add, op.localSet(pq));
  c.emit(op.localGet(poRow));
  for (let r = 0; r < QT; r++) c.emit(op.localGet(ostride), op.i32Add);
  c.emit(op.localSet(poRow));
  c.emit(op.localGet(pq), op.localGet(qend), op.i32Ne, op.brIf(0));
  c.emit(op.end);
  return {
    name: 'gram',
    params: [I32, I32, I32, I32, I32, I32],
    results: [],
    locals: [
      [nI32, I32],
      [nV128, V128],
    ],
    code: c,
  };
}

/**
 * histogram(row, len, lo, scale, ceil, hist, firstPos, cand) → count: for each j < len (len > 0)
 * with s = row[j] (as f64), bucket b = trunc(clamp((s − lo)·scale to [−1.5, ceil])) + 1 (the
 * same arithmetic as rank-positives.ts's bucketOf, so JS and wasm agree on every bucket), then
 * hist[b]++, and j is appended to cand when firstPos[b] ≥ 0 (a bucket near a positive).
 * Byte addresses; hist, firstPos and cand are i32 arrays.
 */
function histogramFunction(p: Precision): WasmFunction {
  const E = VEC[p];
  const row = 0,
    len = 1,
    lo = 2,
    scale = 3,
    ceil = 4,
    hist = 5,
    firstPos = 6,
    cand = 7;
  const j = 8,
    ptr = 9,
    n = 10,
    b4 = 11,
    addr = 12;
  const v = 13;
  const c = new Code();
  c.emit(op.i32Const(0), op.localSet(j), op.localGet(row), op.localSet(ptr), op.i32Const(0), op.localSet(n));
  c.emit(op.loop);
  c.emit(op.localGet(ptr), E.load(0), E.toF64, op.localGet(lo), op.f64Sub, op.localGet(scale), op.f64Mul, op.localSet(v));
  c.emit(op.f64Const(-1.5), op.localGet(v), op.localGet(v), op.f64Const(0), op.f64Lt, op.select, op.localSet(v));
  c.emit(op.localGet(ceil), op.localGet(v), op.localGet(v), op.localGet(ceil), op.f64Gt, op.select);
  c.emit(op.i32TruncSatF64S, op.i32Const(1), op.i32Add, op.i32Const(2), op.i32Shl, op.localSet(b4));
  c.emit(op.localGet(hist), op.localGet(b4), op.i32Add, op.localTee(addr), op.localGet(addr), op.i32Load(0), op.i32Const(1), op.i32Add, op.i32Store(0));
  c.emit(op.localGet(firstPos), op.localGet(b4), op.i32Add, op.i32Load(0), op.i32Const(0), op.i32GeS);
  c.emit(op.if);
  c.emit(op.localGet(cand), op.localGet(n), op.i32Const(2), op.i32Shl, op.i32Add, op.localGet(j), op.i32Store(0));
  c.emit(op.localGet(n), op.i32Const(1), op.i32Add, op.localSet(n));
  c.emit(op.end);
  c.emit(op.localGet(ptr), op.i32Const(E.bytes), op.i32Add, op.localSet(ptr));
  c.emit(op.localGet(j), op.i32Const(1), op.i32Add, op.localTee(j), op.localGet(len), op.i32Ne, op.brIf(0));
  c.emit(op.end);
  c.emit(op.localGet(n));
  return {
    name: 'histogram',
    params: [I32, I32, F64, F64, F64, I32, I32, I32],
    results: [I32],
    locals: [
      [5, I32],
      [1, F64],
    ],
    code: c,
  };
}

/** The module: `gram` and `histogram` for rows of `rowLen` elements (see rowAlign), with its own (exported, not shared) memory. */
export function similarityModule(rowLen: number, p: Precision): Uint8Array {
  return wasmModule([gramFunction(rowLen, p), histogramFunction(p)], { kind: 'export', maxPages: 65536 });
}
