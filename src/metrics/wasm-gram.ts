/**
 * Similarity blocks S = A·Bᵀ over rows of one matrix, with the WebAssembly SIMD kernels of
 * kernels/similarity-rows.ts (assembled at run time), plus the histogram row pass of
 * rank-positives.ts.
 *
 * Why: the exact evaluation is dominated by the N×N×D multiply-adds (4.6·10¹¹ at N = 60,000,
 * D = 128). Measured here (per core): plain JS loops ~1 GMAC/s, tfjs-wasm's float32 matMul
 * ~4.9, this kernel ~5 in float64 (f64x2) and ~10 in float32 (f32x4). The module is generated
 * for one padded row length so every load offset is an immediate; it is small enough to
 * assemble by hand (kernels/wasm-asm.ts: no toolchain, no dependency). Summation order: see
 * kernels/similarity-rows.ts.
 */

import { MAX_BINS, type RowHistogram } from './rank-positives.js';
import { instantiate, validate, type WasmMemory } from '../kernels/wasm-asm.js';
import { F32X4, F64X2 } from '../kernels/simd.js';
import { relaxedSimdAvailable } from '../kernels/relaxed-simd.js';
import { roundUp } from '../kernels/memory.js';
import { ITEM_ALIGN, QUERY_ALIGN, rowAlign, similarityModule, type Precision } from '../kernels/similarity-rows.js';

/** Bytes of item rows processed together (sized for a typical 256 KiB+ L2). */
const ITEM_CHUNK_BYTES = 128 * 1024;

export { ITEM_ALIGN, QUERY_ALIGN, rowAlign, type Precision } from '../kernels/similarity-rows.js';

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
      const eb = (precision === 'f32' ? F32X4 : F64X2).bytes;
      const binBytes = MAX_BINS * 4;
      const bytes = (xsLen + qsLen + outLen) * eb + 2 * binBytes + 2 * this.stride * 4;
      if (bytes > 4 * 2 ** 30 - 2 ** 16) {
        throw new Error(`similarity blocks need ${(bytes / 2 ** 30).toFixed(1)} GiB of wasm memory (limit 4 GiB): lower blockSize`);
      }
      const exports = instantiate(similarityModule(this.rowLen, precision, precision === 'f32' && relaxedSimdAvailable()));
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
      const candBucketPtr = candPtr + this.stride * 4;
      const run = exports.histogram as (
        row: number,
        len: number,
        lo: number,
        scale: number,
        ceil: number,
        hist: number,
        firstPos: number,
        cand: number,
        candBucket: number,
      ) => number;
      this.rowHistogram = {
        hist: new Int32Array(buffer, histPtr, MAX_BINS),
        firstPos: new Int32Array(buffer, firstPtr, MAX_BINS),
        cand: new Int32Array(buffer, candPtr, this.stride),
        candBucket: new Int32Array(buffer, candBucketPtr, this.stride),
        run: (row, len, lo, scale, ceil) => {
          if (row.buffer !== buffer || !(row instanceof Arr)) throw new Error('rowHistogram: the row must be a block returned by compute()');
          return len > 0 ? run(row.byteOffset, len, lo, scale, ceil, histPtr, firstPtr, candPtr, candBucketPtr) : 0;
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
      const eb = (this.precision === 'f32' ? F32X4 : F64X2).bytes;
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
      simdOk = validate(similarityModule(rowAlign('f32'), 'f32'));
    } catch {
      simdOk = false;
    }
  }
  return simdOk === true;
}
