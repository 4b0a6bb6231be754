import { Code, I32, LocalSlots, V128, op, wasmModule, type WasmFunction } from './wasm-asm.js';
import { gramFunction } from './similarity-rows.js';

/**
 * The leave-one-out evaluation's half-Gram pass (metrics/symmetric-retrieval.ts): a tile of
 * float32 scores s_ij, query rows i against items j, updates the ranking state of each query
 * i with its items; the caller passes every tile of the upper triangle twice, as computed
 * (queries of block I, items of block J) and transposed (queries J, items I), so each
 * unordered pair is multiplied once and counted for both its queries.
 *
 * A query's state, in the shared memory, indexed by query number:
 * - lo, sc, ce (f32): its bucket map b(v) = trunc(min(max(floor((v − lo)·sc), −1), ce)) + 1
 *   (float32 arithmetic, monotone in v; ce = top + 0.5, so b ∈ 0..top+1);
 * - tb (i32): byte address of its table of u16 codes, one per bucket: 4g, where g =
 *   positives whose uncertainty interval lies wholly below the bucket;
 * - gb (i32): its first slot: its positives' intervals (lo_k, hi_k] are at slots g.. of thrLo
 *   and, `hiOffset` bytes on, of thrHi (f32, ascending, padded with +∞), its counts at cnt
 *   (i32 per gap: items strictly above exactly positives 0..g−1).
 * An item in bucket b is above positives 0..g−1 and below those from g + WINDOW on, and is
 * compared with the WINDOW intervals in between in one vector compare: strictly above k of
 * them, it counts in gap g + k. Inside an interval (within the float32 error of a positive's
 * exact score) it is a candidate: (query, item) is appended to `cand` and the caller counts it
 * from its exact score. A bucket that more than WINDOW intervals reach into points at a window
 * (−∞, +∞], where every item is a candidate. Candidates are rare, so their branch is
 * predicted.
 */
export const WINDOW = 4;

/**
 * rankTile(tile, tstride, nI, nJ, qI, qJ, lo, sc, ce, tb, gb, thrLo, cnt, cand) →
 * candidates: rows r < nI of the tile (row stride tstride bytes) are queries qI + r, columns
 * c < nJ (a multiple of 4) items qJ + c.
 */
export function rankTileFunction(hiOffset: number): WasmFunction {
  // Parameters, then i32 locals, then v128 locals, numbered in that order.
  const slots = new LocalSlots();
  const { tile, tstride, nI, nJ, qI, qJ, lo, sc, ce, tb, gb, thrLo, cnt, cand } = slots.take('tile tstride nI nJ qI qJ lo sc ce tb gb thrLo cnt cand');
  const nParams = slots.count;
  const { r, col, rowPtr, qi, nOff, t, mHi, tbX, cntX, loX } = slots.take('r col rowPtr qi nOff t mHi tbX cntX loX');
  const nI32 = slots.count - nParams;
  const { v, vlo, vsc, vce, vm1, vb, vx } = slots.take('v vlo vsc vce vm1 vb vx');
  const c = new Code();

  const broadcast = (lane: number) => {
    const bytes = [0, 1, 2, 3].map((k) => 4 * lane + k);
    return op.i8x16Shuffle([...bytes, ...bytes, ...bytes, ...bytes]);
  };
  const splatOf = (base: number, into: number) =>
    c.emit(op.localGet(base), op.localGet(qi), op.i32Const(2), op.i32Shl, op.i32Add, op.f32Load(0), op.f32x4Splat, op.localSet(into));
  const stateOf = (base: number) => c.emit(op.localGet(base), op.localGet(qi), op.i32Const(2), op.i32Shl, op.i32Add, op.i32Load(0));

  c.emit(op.f32Const(-1), op.f32x4Splat, op.localSet(vm1));
  // A count's address is its window's plus cnt − thrLo (counts and windows share slots).
  c.emit(op.localGet(cnt), op.localGet(thrLo), op.i32Sub, op.localSet(cntX));
  c.emit(op.i32Const(0), op.localSet(nOff), op.i32Const(0), op.localSet(r));
  c.emit(op.loop); // query rows, each query's state held for its whole row
  c.emit(op.localGet(qI), op.localGet(r), op.i32Add, op.localSet(qi));
  stateOf(tb);
  c.emit(op.localSet(tbX));
  stateOf(gb);
  c.emit(op.i32Const(2), op.i32Shl, op.localGet(thrLo), op.i32Add, op.localSet(loX));
  splatOf(lo, vlo);
  splatOf(sc, vsc);
  splatOf(ce, vce);
  c.emit(op.localGet(tile), op.localGet(r), op.localGet(tstride), op.i32Mul, op.i32Add, op.localSet(rowPtr));
  c.emit(op.i32Const(0), op.localSet(col));
  c.emit(op.loop); // items, four at a time
  c.emit(op.localGet(rowPtr), op.localGet(col), op.i32Const(2), op.i32Shl, op.i32Add, op.v128Load(0, 2), op.localTee(v));
  // Bucket indices − 1 of the four scores, times 2 (u16 table entries).
  c.emit(op.localGet(vlo), op.f32x4Sub, op.localGet(vsc), op.f32x4Mul, op.f32x4Floor, op.localGet(vm1), op.f32x4Pmax, op.localGet(vce), op.f32x4Pmin);
  c.emit(op.i32x4TruncSatF32x4S, op.i32Const(1), op.i32x4Shl, op.localSet(vb));
  for (let lane = 0; lane < 4; lane++) {
    // t = the window's address: loX + table[b + 1].
    c.emit(op.localGet(tbX), op.localGet(vb), op.i32x4ExtractLane(lane), op.i32Add, op.i32Load16U(2), op.localGet(loX), op.i32Add, op.localSet(t));
    c.emit(op.localGet(v), op.localGet(v), broadcast(lane), op.localSet(vx));
    // Strictly above hi_k, and above lo_k, for the window's positives.
    c.emit(op.localGet(vx), op.localGet(t), op.v128Load(hiOffset, 2), op.f32x4Gt, op.i32x4Bitmask, op.localTee(mHi));
    c.emit(op.localGet(vx), op.localGet(t), op.v128Load(0, 2), op.f32x4Gt, op.i32x4Bitmask, op.i32Xor, op.if);
    c.emit(op.localGet(cand), op.localGet(nOff), op.i32Add, op.localGet(qi), op.i32Store(0));
    c.emit(op.localGet(cand), op.localGet(nOff), op.i32Add, op.localGet(qJ), op.localGet(col), op.i32Add, op.i32Const(lane), op.i32Add, op.i32Store(4));
    c.emit(op.localGet(nOff), op.i32Const(8), op.i32Add, op.localSet(nOff));
    c.emit(op.else);
    // counts[g + popcount(above)]++
    c.emit(op.localGet(cntX), op.localGet(t), op.i32Add, op.localGet(mHi), op.i32Popcnt, op.i32Const(2), op.i32Shl, op.i32Add, op.localTee(t));
    c.emit(op.localGet(t), op.i32Load(0), op.i32Const(1), op.i32Add, op.i32Store(0));
    c.emit(op.end);
  }
  c.emit(op.localGet(col), op.i32Const(4), op.i32Add, op.localTee(col), op.localGet(nJ), op.i32LtU, op.brIf(0));
  c.emit(op.end);
  c.emit(op.localGet(r), op.i32Const(1), op.i32Add, op.localTee(r), op.localGet(nI), op.i32LtU, op.brIf(0));
  c.emit(op.end);
  c.emit(op.localGet(nOff), op.i32Const(3), op.i32ShrU);
  return {
    name: 'rankTile',
    params: new Array<number>(nParams).fill(I32),
    results: [I32],
    locals: [
      [nI32, I32],
      [7, V128],
    ],
    code: c,
  };
}

/**
 * exactDots(pairs, count, x, rowBytes, out): for each pair e of i32 (q, j) at pairs + 8e, the
 * float64 dot product of rows q and j of x (rows of rowBytes bytes, zero-padded to whole f64x2
 * vectors) into out[e]: even and odd terms summed apart in the two lanes, then added, the
 * order of the evaluation's float64 kernel and of retrieval-core.ts ExactDot, so the three give
 * the same exact scores.
 */
export function exactDotsFunction(): WasmFunction {
  const [pairs, count, xs, rowBytes, out] = [0, 1, 2, 3, 4];
  const [e, a, b, end] = [5, 6, 7, 8];
  const acc = 9;
  const c = new Code();
  c.emit(op.i32Const(0), op.localSet(e));
  c.emit(op.block, op.loop);
  c.emit(op.localGet(e), op.localGet(count), op.i32GeU, op.brIf(1));
  const row = (slot: number, into: number) =>
    c.emit(
      op.localGet(pairs),
      op.localGet(e),
      op.i32Const(3),
      op.i32Shl,
      op.i32Add,
      op.i32Load(slot),
      op.localGet(rowBytes),
      op.i32Mul,
      op.localGet(xs),
      op.i32Add,
      op.localSet(into),
    );
  row(0, a);
  row(4, b);
  c.emit(op.localGet(a), op.localGet(rowBytes), op.i32Add, op.localSet(end));
  c.emit(op.v128Zero, op.localSet(acc));
  c.emit(op.loop);
  c.emit(op.localGet(acc), op.localGet(a), op.v128Load(0, 3), op.localGet(b), op.v128Load(0, 3), op.f64x2Mul, op.f64x2Add, op.localSet(acc));
  c.emit(op.localGet(b), op.i32Const(16), op.i32Add, op.localSet(b));
  c.emit(op.localGet(a), op.i32Const(16), op.i32Add, op.localTee(a), op.localGet(end), op.i32Ne, op.brIf(0));
  c.emit(op.end);
  c.emit(op.localGet(out), op.localGet(e), op.i32Const(3), op.i32Shl, op.i32Add);
  c.emit(op.localGet(acc), op.f64x2ExtractLane(0), op.localGet(acc), op.f64x2ExtractLane(1), op.f64Add, op.f64Store(0));
  c.emit(op.localGet(e), op.i32Const(1), op.i32Add, op.localSet(e));
  c.emit(op.br(0), op.end, op.end);
  return {
    name: 'exactDots',
    params: [I32, I32, I32, I32, I32],
    results: [],
    locals: [
      [4, I32],
      [1, V128],
    ],
    code: c,
  };
}

/**
 * `gramT` (the evaluation's float32 similarity tile, similarity-rows.ts, also stored transposed), `rankTile` and `exactDots`, for rows
 * of `rowLen` elements, on an imported shared memory so every thread works on the same state.
 */
export function symmetricModule(rowLen: number, fma: boolean, hiOffset: number): Uint8Array {
  return wasmModule([gramFunction(rowLen, 'f32', fma, true), rankTileFunction(hiOffset), exactDotsFunction()], { kind: 'shared-import', maxPages: 65536 });
}

/**
 * The bucket map of rankTile in plain JS, bit for bit (each float32 operation rounded with
 * Math.fround), so tables built here agree with the kernel on every threshold.
 */
export function bucket32(v: number, lo: number, sc: number, ce: number): number {
  let y = Math.floor(Math.fround(Math.fround(v - lo) * sc));
  if (y < -1) y = -1;
  if (ce < y) y = ce;
  return (y | 0) + 1;
}
