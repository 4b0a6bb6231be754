/**
 * Similarity blocks S = A·Bᵀ over rows of one matrix, as a tiny WebAssembly SIMD module
 * assembled here at run time, plus the histogram row pass of rank-positives.ts.
 *
 * Why: the exact evaluation is dominated by the N×N×D multiply-adds (4.6·10¹¹ at N = 60,000,
 * D = 128). Measured here (per core): plain JS loops ~1 GMAC/s, tfjs-wasm's float32 matMul
 * ~4.9, this kernel ~5 in float64 (f64x2) and ~10 in float32 (f32x4). The module is generated
 * for one padded row length so every load offset is an immediate; it is small enough to
 * assemble by hand (wasm-asm.ts: no toolchain, no dependency).
 *
 * Summation order: each dot product is summed in 2 (f64) or 4 (f32) interleaved lanes, then
 * the lanes are added pairwise, so results can differ from a sequential sum in the last bits.
 */

import { MAX_BINS, type RowHistogram } from './rank-positives.js';
import { Code, F64, I32, V128, instantiate, op, validate, wasmModule, type WasmFunction, type WasmMemory } from '../kernels/wasm-asm.js';

/** Query rows and item rows per register tile: QT×JT vector accumulators (jsGram assumes 2×4). */
const QT = 2;
const JT = 4;
/** SIMD vectors per unrolled step of the inner loop. */
const UNROLL = 2;
/** Item rows are padded to a multiple of this (zero rows, ignored by callers). */
export const ITEM_ALIGN = JT;
/** Bytes of item rows processed together (sized for a typical 256 KiB+ L2). */
const ITEM_CHUNK_BYTES = 128 * 1024;
/** Query block sizes must be a multiple of this. */
export const QUERY_ALIGN = QT;

/** Alignment the vector loads declare (log2 bytes): 8, a float64 element's, though rows start 32-byte aligned. */
const V128_ALIGN = 3;

/** Element type of the similarity kernel: float64 (exact scores) or float32 (twice the SIMD lanes). */
export type Precision = 'f32' | 'f64';

interface ElemOps {
  bytes: number;
  lanes: number;
  add: number[];
  mul: number[];
  extract: (lane: number) => number[];
  scalarAdd: number[];
  store: (offset: number) => number[];
  load: (offset: number) => number[];
  /** After `load`, converts the value to f64. */
  toF64: number[];
}

const ELEM: Record<Precision, ElemOps> = {
  f64: {
    bytes: 8,
    lanes: 2,
    add: op.f64x2Add,
    mul: op.f64x2Mul,
    extract: op.f64x2ExtractLane,
    scalarAdd: op.f64Add,
    store: op.f64Store,
    load: op.f64Load,
    toF64: [],
  },
  f32: {
    bytes: 4,
    lanes: 4,
    add: op.f32x4Add,
    mul: op.f32x4Mul,
    extract: op.f32x4ExtractLane,
    scalarAdd: op.f32Add,
    store: op.f32Store,
    load: op.f32Load,
    toF64: op.f64PromoteF32,
  },
};

/** Row length (elements) is padded to a multiple of this. */
export function rowAlign(p: Precision): number {
  return ELEM[p].lanes * UNROLL;
}

/**
 * gram(pa, qn, pb, jn, out, ostride): for q < qn, j < jn (byte addresses; qn a multiple of QT,
 * jn of JT, both > 0) out[q·ostride + j·bytes] = Σ_t A[q][t]·B[j][t] with rows of `rowLen`
 * elements. Each dot product is summed in `lanes` interleaved lanes, then the lanes are added.
 */
function gramFunction(rowLen: number, p: Precision): WasmFunction {
  const E = ELEM[p];
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
        c.emit(op.localGet(acc(k, l)), op.localGet(aBase + k), op.localGet(bBase + l), E.mul, E.add, op.localSet(acc(k, l)));
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
      c.emit(op.localGet(acc(k, l)), E.extract(0), op.localGet(acc(k, l)), E.extract(1), E.scalarAdd);
      if (E.lanes === 4) c.emit(op.localGet(acc(k, l)), E.extract(2), op.localGet(acc(k, l)), E.extract(3), E.scalarAdd, E.scalarAdd);
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
  const E = ELEM[p];
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

function assemble(rowLen: number, p: Precision): Uint8Array {
  return wasmModule([gramFunction(rowLen, p), histogramFunction(p)], { kind: 'export', maxPages: 65536 });
}

export function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

type Scores = Float32Array | Float64Array;

/**
 * Holds a padded copy of n×d item rows in wasm memory (float64, or float32 for the fast mode),
 * optionally a second matrix of query rows (`queries`; absent: the items are the queries), plus
 * an output area for blocks of up to `maxBlock` query rows, and computes similarity blocks
 * against all item rows. float32 scores are approximate: callers must treat them as such (see
 * rank-positives.ts ExactScores); float64 scores are the exact ones.
 */
export class SimilarityBlocks {
  readonly n: number;
  readonly d: number;
  readonly precision: Precision;
  /** Row stride of a block (n padded to ITEM_ALIGN). */
  readonly stride: number;
  readonly maxBlock: number;
  private readonly rowLen: number;
  private readonly gram: ((pa: number, qn: number, pb: number, jn: number, out: number, ostride: number) => void) | null;
  private readonly xPtr: number;
  /** Where query rows start (xPtr when the items are the queries). */
  private readonly qPtr: number;
  /** Query rows held (padded); a block never reads past them. */
  private readonly qRows: number;
  private readonly qCount: number;
  private readonly qs: Scores | null;
  private readonly outPtr: number;
  private readonly xs: Scores;
  private readonly out: Scores;
  /** The wasm row pass for PositiveRanker over rows returned by `compute`; null without wasm. */
  readonly rowHistogram: RowHistogram | null;

  constructor(
    x: ArrayLike<number>,
    n: number,
    d: number,
    maxBlock: number,
    opts: { useWasm?: boolean; precision?: Precision; queries?: { x: ArrayLike<number>; n: number } } = {},
  ) {
    const useWasm = opts.useWasm ?? wasmSimdAvailable();
    const precision = opts.precision ?? 'f64';
    if (precision === 'f32' && !useWasm) throw new Error('the float32 similarity kernel needs wasm SIMD');
    this.n = n;
    this.d = d;
    this.precision = precision;
    this.stride = roundUp(n, ITEM_ALIGN);
    this.maxBlock = roundUp(Math.max(1, maxBlock), QUERY_ALIGN);
    this.rowLen = roundUp(d, rowAlign(precision));
    const xsLen = this.stride * this.rowLen;
    const queries = opts.queries;
    this.qRows = queries ? roundUp(Math.max(1, queries.n), QUERY_ALIGN) : this.stride;
    this.qCount = queries ? queries.n : n;
    const qsLen = queries ? this.qRows * this.rowLen : 0;
    const outLen = this.maxBlock * this.stride;
    if (useWasm) {
      const eb = ELEM[precision].bytes;
      const binBytes = MAX_BINS * 4;
      const bytes = (xsLen + qsLen + outLen) * eb + 2 * binBytes + this.stride * 4;
      if (bytes > 4 * 2 ** 30 - 2 ** 16) {
        throw new Error(`similarity blocks need ${(bytes / 2 ** 30).toFixed(1)} GiB of wasm memory (limit 4 GiB): lower blockSize`);
      }
      const exports = instantiate(assemble(this.rowLen, precision));
      const mem = exports.mem as WasmMemory;
      this.gram = exports.gram as SimilarityBlocks['gram'];
      mem.grow(Math.ceil(bytes / 65536) - mem.buffer.byteLength / 65536);
      // This module's own memory is not shared, so its buffer is a plain ArrayBuffer.
      const buffer = mem.buffer as ArrayBuffer;
      const Arr = precision === 'f32' ? Float32Array : Float64Array;
      this.xPtr = 0;
      this.qPtr = queries ? xsLen * eb : this.xPtr;
      this.outPtr = (xsLen + qsLen) * eb;
      this.xs = new Arr(buffer, this.xPtr, xsLen);
      this.qs = queries ? new Arr(buffer, this.qPtr, qsLen) : null;
      this.out = new Arr(buffer, this.outPtr, outLen);
      const histPtr = this.outPtr + outLen * eb;
      const firstPtr = histPtr + binBytes;
      const candPtr = firstPtr + binBytes;
      const run = exports.histogram as (
        row: number,
        len: number,
        lo: number,
        scale: number,
        ceil: number,
        hist: number,
        firstPos: number,
        cand: number,
      ) => number;
      this.rowHistogram = {
        hist: new Int32Array(buffer, histPtr, MAX_BINS),
        firstPos: new Int32Array(buffer, firstPtr, MAX_BINS),
        cand: new Int32Array(buffer, candPtr, this.stride),
        run: (row, len, lo, scale, ceil) => {
          if (row.buffer !== buffer || !(row instanceof Arr)) throw new Error('rowHistogram: the row must be a block returned by compute()');
          return len > 0 ? run(row.byteOffset, len, lo, scale, ceil, histPtr, firstPtr, candPtr) : 0;
        },
      };
    } else {
      this.rowHistogram = null;
      this.gram = null;
      this.xPtr = 0;
      this.qPtr = 0;
      this.outPtr = 0;
      this.xs = new Float64Array(xsLen);
      this.qs = queries ? new Float64Array(qsLen) : null;
      this.out = new Float64Array(outLen);
    }
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < d; t++) this.xs[i * this.rowLen + t] = x[i * d + t]!;
    }
    if (queries && this.qs) {
      for (let i = 0; i < queries.n; i++) {
        for (let t = 0; t < d; t++) this.qs[i * this.rowLen + t] = queries.x[i * d + t]!;
      }
    }
  }

  /**
   * Scores of query rows [q0, q0+count) against every item row: row r of the result is at
   * [r·stride, r·stride + n). The array is reused by the next call.
   */
  compute(q0: number, count: number): Scores {
    if (count > this.maxBlock || q0 < 0 || q0 + count > this.qCount) throw new Error(`bad block [${q0}, ${q0 + count})`);
    const qn = roundUp(count, QUERY_ALIGN);
    // A block that runs past the last row reads padding rows (zeros) or the next rows: harmless,
    // their outputs are never read. Past the padded end it must stop.
    const start = Math.min(q0, this.qRows - qn);
    if (this.gram) {
      const eb = ELEM[this.precision].bytes;
      const rowBytes = this.rowLen * eb;
      // Item chunks small enough to stay in L2 while every query tile of the block passes over
      // them; without this the whole matrix streams from memory once per query tile (5x slower).
      const chunk = Math.max(ITEM_ALIGN, roundUp(Math.floor(ITEM_CHUNK_BYTES / rowBytes), ITEM_ALIGN));
      const pa = this.qPtr + start * rowBytes;
      for (let j0 = 0; j0 < this.stride; j0 += chunk) {
        const jn = Math.min(chunk, this.stride - j0);
        this.gram(pa, qn, this.xPtr + j0 * rowBytes, jn, this.outPtr + j0 * eb, this.stride * eb);
      }
    } else {
      jsGram((this.qs ?? this.xs) as Float64Array, this.xs as Float64Array, this.rowLen, start, qn, this.stride, this.out as Float64Array, this.stride);
    }
    const shift = (q0 - start) * this.stride;
    return shift === 0 ? this.out : this.out.subarray(shift);
  }
}

/** The same tile in plain JS, for engines without wasm SIMD: query rows of `a` against rows of `x`. */
function jsGram(a: Float64Array, x: Float64Array, rowLen: number, q0: number, qn: number, jn: number, out: Float64Array, ostride: number): void {
  for (let q = 0; q < qn; q += 2) {
    const a0 = (q0 + q) * rowLen;
    const a1 = a0 + rowLen;
    for (let j = 0; j < jn; j += 4) {
      const b0 = j * rowLen,
        b1 = b0 + rowLen,
        b2 = b1 + rowLen,
        b3 = b2 + rowLen;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      for (let t = 0; t < rowLen; t++) {
        const u0 = a[a0 + t],
          u1 = a[a1 + t];
        const v0 = x[b0 + t],
          v1 = x[b1 + t],
          v2 = x[b2 + t],
          v3 = x[b3 + t];
        s00 += u0! * v0!;
        s01 += u0! * v1!;
        s02 += u0! * v2!;
        s03 += u0! * v3!;
        s10 += u1! * v0!;
        s11 += u1! * v1!;
        s12 += u1! * v2!;
        s13 += u1! * v3!;
      }
      const o0 = q * ostride + j,
        o1 = o0 + ostride;
      out[o0] = s00;
      out[o0 + 1] = s01;
      out[o0 + 2] = s02;
      out[o0 + 3] = s03;
      out[o1] = s10;
      out[o1 + 1] = s11;
      out[o1 + 2] = s12;
      out[o1 + 3] = s13;
    }
  }
}

let simdOk: boolean | undefined;
/** Whether this engine compiles the SIMD kernel (Node ≥ 16.4 does). */
export function wasmSimdAvailable(): boolean {
  if (simdOk === undefined) {
    try {
      simdOk = validate(assemble(rowAlign('f32'), 'f32'));
    } catch {
      simdOk = false;
    }
  }
  return simdOk === true;
}
