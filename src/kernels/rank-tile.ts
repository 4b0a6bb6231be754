import { Code, I32, V128, op, wasmModule, type WasmFunction } from './wasm-asm.js';
import { gramFunction } from './similarity-rows.js';

/**
 * The leave-one-out evaluation's symmetric pass (metrics/symmetric-retrieval.ts): a tile of
 * float32 scores s_ij (query rows i of one block against the rows j of another) updates the
 * ranking state of query i with item j and, read the other way, that of query j with item i,
 * so each unordered pair is multiplied once.
 *
 * A query's state, in the shared memory, indexed by query number:
 * - lo, sc, ce (f32): its bucket map b(v) = trunc(min(max(floor((v − lo)·sc), −1), ce)) + 1
 *   (float32 arithmetic, monotone in v; ce = top + 0.5, so b ∈ 0..top+1);
 * - tb (i32): byte address of its table of u16 codes, one per bucket: code = 4g + dense, where
 *   g = positives whose uncertainty interval lies wholly below the bucket, and dense = more than
 *   WINDOW intervals reach into it;
 * - gb (i32): its first slot: its positives' intervals are [thrLo, thrHi] at slots g.. (f32,
 *   ascending, padded with +∞), its counts at cnt (i32 per gap: items strictly above exactly
 *   positives 0..g−1).
 * An item in bucket b is above positives 0..g−1 and below those from g + WINDOW on, and is
 * compared with the WINDOW intervals in between in one vector compare: strictly above k of
 * them, it counts in gap g + k. Inside an interval (within the float32 error of a positive's
 * exact score), or in a dense bucket, it is a candidate: (query, item) is appended to `cand`
 * and the caller counts it from its exact score. Candidates are rare, so their branch is
 * predicted.
 */
export const WINDOW = 4;

export function rankTileFunction(): WasmFunction {
  // params
  const [tile, tstride, nI, nJ, qI, qJ, both, lo, sc, ce, tb, gb, thrLo, thrHi, cnt, cand] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const nParams = 16;
  // i32 locals: loop state, then one query's table, counts and thresholds per lane (the row
  // direction uses lane 0's).
  let next = nParams;
  const local = () => next++;
  const [r, col, rowPtr, qi, nOff, code, t, q, mHi] = [local(), local(), local(), local(), local(), local(), local(), local(), local()];
  const tbL = Array.from({ length: 4 }, local);
  const cntL = Array.from({ length: 4 }, local);
  const loL = Array.from({ length: 4 }, local);
  const hiL = Array.from({ length: 4 }, local);
  const nI32 = next - nParams;
  // v128 locals
  const [v, vlo, vsc, vce, vm1, vb, vx] = [local(), local(), local(), local(), local(), local(), local()];
  const c = new Code();

  // Bucket indices − 1 of the four scores in v, with the maps in vlo/vsc/vce, into vb.
  const bucket = () =>
    c.emit(
      op.localGet(v),
      op.localGet(vlo),
      op.f32x4Sub,
      op.localGet(vsc),
      op.f32x4Mul,
      op.f32x4Floor,
      op.localGet(vm1),
      op.f32x4Pmax,
      op.localGet(vce),
      op.f32x4Pmin,
      op.i32x4TruncSatF32x4S,
      op.localSet(vb),
    );

  const broadcast = (lane: number) => {
    const bytes = [0, 1, 2, 3].map((k) => 4 * lane + k);
    return op.i8x16Shuffle([...bytes, ...bytes, ...bytes, ...bytes]);
  };

  // One item: score lane `lane` of v and its bucket in vb, for the query whose state is in lane
  // slot s; a candidate is the pair (query, item) pushed by pushQuery / pushItem.
  const item = (lane: number, s: number, pushQuery: () => void, pushItem: () => void) => {
    // code = table[b + 1] (bucket lane value b ∈ −1..top); t = 4g, the window's byte offset.
    c.emit(op.localGet(tbL[s]!), op.localGet(vb), op.i32x4ExtractLane(lane), op.i32Const(1), op.i32Shl, op.i32Add, op.i32Load16U(2), op.localTee(code));
    c.emit(op.i32Const(-4), op.i32And, op.localSet(t));
    c.emit(op.localGet(v), op.localGet(v), broadcast(lane), op.localSet(vx));
    // Strictly above hi_k, and at or above lo_k, for the window's positives.
    c.emit(op.localGet(vx), op.localGet(hiL[s]!), op.localGet(t), op.i32Add, op.v128Load(0, 2), op.f32x4Gt, op.i32x4Bitmask, op.localTee(mHi));
    c.emit(op.localGet(vx), op.localGet(loL[s]!), op.localGet(t), op.i32Add, op.v128Load(0, 2), op.f32x4Ge, op.i32x4Bitmask, op.i32Xor);
    c.emit(op.localGet(code), op.i32Const(1), op.i32And, op.i32Or, op.if);
    c.emit(op.localGet(cand), op.localGet(nOff), op.i32Add);
    pushQuery();
    c.emit(op.i32Store(0), op.localGet(cand), op.localGet(nOff), op.i32Add);
    pushItem();
    c.emit(op.i32Store(4));
    c.emit(op.localGet(nOff), op.i32Const(8), op.i32Add, op.localSet(nOff));
    c.emit(op.else);
    // counts[g + popcount(above)]++
    c.emit(op.localGet(cntL[s]!), op.localGet(t), op.i32Add, op.localGet(mHi), op.i32Popcnt, op.i32Const(2), op.i32Shl, op.i32Add, op.localTee(t));
    c.emit(op.localGet(t), op.i32Load(0), op.i32Const(1), op.i32Add, op.i32Store(0));
    c.emit(op.end);
  };

  // Query (on the stack) → its table, counts and thresholds addresses in lane slot s.
  const queryState = (s: number) => {
    c.emit(op.localSet(q));
    c.emit(op.localGet(tb), op.localGet(q), op.i32Const(2), op.i32Shl, op.i32Add, op.i32Load(0), op.localSet(tbL[s]!));
    c.emit(op.localGet(gb), op.localGet(q), op.i32Const(2), op.i32Shl, op.i32Add, op.i32Load(0), op.i32Const(2), op.i32Shl, op.localTee(t));
    c.emit(op.localGet(cnt), op.i32Add, op.localSet(cntL[s]!));
    c.emit(op.localGet(t), op.localGet(thrLo), op.i32Add, op.localSet(loL[s]!));
    c.emit(op.localGet(t), op.localGet(thrHi), op.i32Add, op.localSet(hiL[s]!));
  };
  const splatOf = (base: number, into: number) =>
    c.emit(op.localGet(base), op.localGet(qi), op.i32Const(2), op.i32Shl, op.i32Add, op.f32Load(0), op.f32x4Splat, op.localSet(into));
  // The f32 vector of queries qJ + col .. +3 from the array at `base`.
  const vectorOf = (base: number, into: number) =>
    c.emit(op.localGet(base), op.localGet(qJ), op.localGet(col), op.i32Add, op.i32Const(2), op.i32Shl, op.i32Add, op.v128Load(0, 2), op.localSet(into));
  const loadScores = () => c.emit(op.localGet(rowPtr), op.localGet(col), op.i32Const(2), op.i32Shl, op.i32Add, op.v128Load(0, 2), op.localSet(v));

  c.emit(op.f32Const(-1), op.f32x4Splat, op.localSet(vm1));
  c.emit(op.i32Const(0), op.localSet(nOff));

  // Rows: query i against items j of the tile, its state held for the whole row.
  c.emit(op.i32Const(0), op.localSet(r));
  c.emit(op.loop);
  c.emit(op.localGet(qI), op.localGet(r), op.i32Add, op.localTee(qi));
  queryState(0);
  splatOf(lo, vlo);
  splatOf(sc, vsc);
  splatOf(ce, vce);
  c.emit(op.localGet(tile), op.localGet(r), op.localGet(tstride), op.i32Mul, op.i32Add, op.localSet(rowPtr));
  c.emit(op.i32Const(0), op.localSet(col));
  c.emit(op.loop);
  loadScores();
  bucket();
  for (let l = 0; l < 4; l++)
    item(
      l,
      0,
      () => c.emit(op.localGet(qi)),
      () => c.emit(op.localGet(qJ), op.localGet(col), op.i32Add, op.i32Const(l), op.i32Add),
    );
  c.emit(op.localGet(col), op.i32Const(4), op.i32Add, op.localTee(col), op.localGet(nJ), op.i32LtU, op.brIf(0));
  c.emit(op.end);
  c.emit(op.localGet(r), op.i32Const(1), op.i32Add, op.localTee(r), op.localGet(nI), op.i32LtU, op.brIf(0));
  c.emit(op.end);

  // Columns: queries j .. j+3 against items i, their four states held down the columns.
  c.emit(op.localGet(both), op.if);
  c.emit(op.i32Const(0), op.localSet(col));
  c.emit(op.loop);
  for (let l = 0; l < 4; l++) {
    c.emit(op.localGet(qJ), op.localGet(col), op.i32Add, op.i32Const(l), op.i32Add);
    queryState(l);
  }
  vectorOf(lo, vlo);
  vectorOf(sc, vsc);
  vectorOf(ce, vce);
  c.emit(op.localGet(tile), op.localSet(rowPtr), op.i32Const(0), op.localSet(r));
  c.emit(op.loop);
  loadScores();
  bucket();
  for (let l = 0; l < 4; l++) {
    item(
      l,
      l,
      () => c.emit(op.localGet(qJ), op.localGet(col), op.i32Add, op.i32Const(l), op.i32Add),
      () => c.emit(op.localGet(qI), op.localGet(r), op.i32Add),
    );
  }
  c.emit(op.localGet(rowPtr), op.localGet(tstride), op.i32Add, op.localSet(rowPtr));
  c.emit(op.localGet(r), op.i32Const(1), op.i32Add, op.localTee(r), op.localGet(nI), op.i32LtU, op.brIf(0));
  c.emit(op.end);
  c.emit(op.localGet(col), op.i32Const(4), op.i32Add, op.localTee(col), op.localGet(nJ), op.i32LtU, op.brIf(0));
  c.emit(op.end);
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
 * `gram` (the evaluation's float32 similarity tile, similarity-rows.ts), `rankTile` and `exactDots`, for rows
 * of `rowLen` elements, on an imported shared memory so every thread works on the same state.
 */
export function symmetricModule(rowLen: number, fma: boolean): Uint8Array {
  return wasmModule([gramFunction(rowLen, 'f32', fma), rankTileFunction(), exactDotsFunction()], { kind: 'shared-import', maxPages: 65536 });
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
