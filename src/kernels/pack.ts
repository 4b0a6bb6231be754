import { Code, F64, I32, V128, op, wasmModule } from './wasm-asm.js';

/**
 * Packing of matmul operands into the panel layout of matmul.ts: element (row, t) of a panel of
 * `pr` rows, panel p, lands at base + p·pr·kp + ((t>>1)·pr + r)·2 + (t&1) (f64 elements). The
 * source is first copied as-is into wasm memory (one memcpy); the bulk of the moves is then done
 * by two wasm loops moving whole f64x2 pairs, which measured several times faster than the
 * element-wise JS loop. JS only handles the O(rows + k) edges (odd k, odd row count, padding).
 * Pure data movement, so the packed panels are bit-for-bit what the element-wise loop writes.
 */

/** Wasm functions of the packing module (byte addresses into the shared memory). */
export interface PackFns {
  /** count × (dst ← src; src += 16; dst += dstStep), count ≥ 1. */
  copyPairs: (dst: number, src: number, count: number, dstStep: number) => void;
  /** count × ([dst] ← four f64 at src rounded to f32; src += 32; dst += dstStep), count ≥ 1. */
  demoteQuads: (dst: number, src: number, count: number, dstStep: number) => void;
  /**
   * count × (the 4×2 f64 block at src, rows srcRow bytes apart, rounded to f32 and stored column
   * by column: [dst] ← its first column, [dst+16] ← its second; src += srcStep; dst += dstStep),
   * count ≥ 1.
   */
  transposeQuads: (dst: number, src: number, count: number, srcRow: number, srcStep: number, dstStep: number) => void;
  /**
   * count × four f32 at dst: for e = 0..3, slot k = the u16 at slots + 2e, a = the f64 at
   * tabI + 8k, [dst + 4e] ← (a + the f64 at tabJ + 8k) rounded to f32, tabJ += tabJStep; then
   * slots += 8, dst += dstStep. Returns how many a were not 0. count ≥ 1. (A row of G + Gᵀ from
   * per-query tables indexed by per-pair slots: losses/kernels/fast-ap-rows.ts.)
   */
  slotSums: (dst: number, slots: number, tabI: number, tabJ: number, count: number, dstStep: number, tabJStep: number) => number;
  /**
   * count × 2×2 transposes: a = [src], b = [src + srcNext]; [dst] ← (a0, b0), [dst+16] ← (a1, b1);
   * src += srcStep; dst += dstStep. count ≥ 1.
   */
  transposePairs: (dst: number, src: number, count: number, srcStep: number, dstStep: number, srcNext: number) => void;
}

/** A module importing the shared memory env.mem (same limits as the matmul module). */
export function packModule(maxPages: number): Uint8Array {
  const copy = new Code();
  {
    const [dst, src, count, dstStep] = [0, 1, 2, 3];
    copy.emit(op.loop);
    copy.emit(op.localGet(dst), op.localGet(src), op.v128Load(0, 3), op.v128Store(0, 4));
    copy.emit(op.localGet(src), op.i32Const(16), op.i32Add, op.localSet(src));
    copy.emit(op.localGet(dst), op.localGet(dstStep), op.i32Add, op.localSet(dst));
    copy.emit(op.localGet(count), op.i32Const(-1), op.i32Add, op.localTee(count), op.brIf(0), op.end);
  }
  const tr = new Code();
  {
    const [dst, src, count, srcStep, dstStep, srcNext, a, b] = [0, 1, 2, 3, 4, 5, 6, 7];
    const lanes = (first: number) => [...Array.from({ length: 8 }, (_, i) => first + i), ...Array.from({ length: 8 }, (_, i) => 16 + first + i)];
    tr.emit(op.loop);
    tr.emit(op.localGet(src), op.v128Load(0, 3), op.localSet(a));
    tr.emit(op.localGet(src), op.localGet(srcNext), op.i32Add, op.v128Load(0, 3), op.localSet(b));
    tr.emit(op.localGet(dst), op.localGet(a), op.localGet(b), op.i8x16Shuffle(lanes(0)), op.v128Store(0, 4));
    tr.emit(op.localGet(dst), op.localGet(a), op.localGet(b), op.i8x16Shuffle(lanes(8)), op.v128Store(16, 4));
    tr.emit(op.localGet(src), op.localGet(srcStep), op.i32Add, op.localSet(src));
    tr.emit(op.localGet(dst), op.localGet(dstStep), op.i32Add, op.localSet(dst));
    tr.emit(op.localGet(count), op.i32Const(-1), op.i32Add, op.localTee(count), op.brIf(0), op.end);
  }
  // Byte lanes of i8x16.shuffle: the low 8 bytes of each operand, and the high 8 of each.
  const lows = [...Array.from({ length: 8 }, (_, i) => i), ...Array.from({ length: 8 }, (_, i) => 16 + i)];
  const highs = lows.map((l) => l + 8);
  const demote = new Code();
  {
    const [dst, src, count, dstStep] = [0, 1, 2, 3];
    demote.emit(op.loop, op.localGet(dst));
    demote.emit(op.localGet(src), op.v128Load(0, 3), op.f32x4DemoteF64x2Zero);
    demote.emit(op.localGet(src), op.v128Load(16, 3), op.f32x4DemoteF64x2Zero);
    demote.emit(op.i8x16Shuffle(lows), op.v128Store(0, 4));
    demote.emit(op.localGet(src), op.i32Const(32), op.i32Add, op.localSet(src));
    demote.emit(op.localGet(dst), op.localGet(dstStep), op.i32Add, op.localSet(dst));
    demote.emit(op.localGet(count), op.i32Const(-1), op.i32Add, op.localTee(count), op.brIf(0), op.end);
  }
  const tq = new Code();
  {
    const [dst, src, count, srcRow, srcStep, dstStep, r2, r3, a, b, c, e] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    tq.emit(op.localGet(srcRow), op.localGet(srcRow), op.i32Add, op.localTee(r2), op.localGet(srcRow), op.i32Add, op.localSet(r3));
    tq.emit(op.loop);
    tq.emit(op.localGet(src), op.v128Load(0, 3), op.localSet(a));
    tq.emit(op.localGet(src), op.localGet(srcRow), op.i32Add, op.v128Load(0, 3), op.localSet(b));
    tq.emit(op.localGet(src), op.localGet(r2), op.i32Add, op.v128Load(0, 3), op.localSet(c));
    tq.emit(op.localGet(src), op.localGet(r3), op.i32Add, op.v128Load(0, 3), op.localSet(e));
    // First column: (a0, b0) and (c0, e0) demoted and joined; second: the same of lanes 1.
    for (const [half, off] of [
      [lows, 0],
      [highs, 16],
    ] as const) {
      tq.emit(op.localGet(dst));
      tq.emit(op.localGet(a), op.localGet(b), op.i8x16Shuffle(half), op.f32x4DemoteF64x2Zero);
      tq.emit(op.localGet(c), op.localGet(e), op.i8x16Shuffle(half), op.f32x4DemoteF64x2Zero);
      tq.emit(op.i8x16Shuffle(lows), op.v128Store(off, 4));
    }
    tq.emit(op.localGet(src), op.localGet(srcStep), op.i32Add, op.localSet(src));
    tq.emit(op.localGet(dst), op.localGet(dstStep), op.i32Add, op.localSet(dst));
    tq.emit(op.localGet(count), op.i32Const(-1), op.i32Add, op.localTee(count), op.brIf(0), op.end);
  }
  const ss = new Code();
  {
    const [dst, slots, tabI, tabJ, count, dstStep, tabJStep, k, nz, a] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    ss.emit(op.loop);
    for (let e = 0; e < 4; e++) {
      ss.emit(op.localGet(slots), op.i32Load16U(2 * e), op.i32Const(3), op.i32Shl, op.localSet(k));
      ss.emit(op.localGet(tabI), op.localGet(k), op.i32Add, op.f64Load(0), op.localSet(a));
      ss.emit(op.localGet(nz), op.localGet(a), op.f64Const(0), op.f64Ne, op.i32Add, op.localSet(nz));
      ss.emit(op.localGet(dst), op.localGet(a), op.localGet(tabJ), op.localGet(k), op.i32Add, op.f64Load(0), op.f64Add, op.f32DemoteF64, op.f32Store(4 * e));
      ss.emit(op.localGet(tabJ), op.localGet(tabJStep), op.i32Add, op.localSet(tabJ));
    }
    ss.emit(op.localGet(slots), op.i32Const(8), op.i32Add, op.localSet(slots));
    ss.emit(op.localGet(dst), op.localGet(dstStep), op.i32Add, op.localSet(dst));
    ss.emit(op.localGet(count), op.i32Const(-1), op.i32Add, op.localTee(count), op.brIf(0), op.end);
    ss.emit(op.localGet(nz));
  }
  return wasmModule(
    [
      { name: 'copyPairs', params: [I32, I32, I32, I32], results: [], locals: [], code: copy },
      { name: 'transposePairs', params: [I32, I32, I32, I32, I32, I32], results: [], locals: [[2, V128]], code: tr },
      {
        name: 'slotSums',
        params: [I32, I32, I32, I32, I32, I32, I32],
        results: [I32],
        locals: [
          [2, I32],
          [1, F64],
        ],
        code: ss,
      },
      { name: 'demoteQuads', params: [I32, I32, I32, I32], results: [], locals: [], code: demote },
      {
        name: 'transposeQuads',
        params: [I32, I32, I32, I32, I32, I32],
        results: [],
        locals: [
          [2, I32],
          [4, V128],
        ],
        code: tq,
      },
    ],
    { kind: 'shared-import', maxPages },
  );
}

/**
 * Packs `rows` rows of length k (or, transposed, the columns of a k×rows matrix) held at element
 * `src` of `f` into panels of `pr` rows at element `base`, zero-padding rows up to a multiple of
 * pr and k up to kp (kp ≥ k, even). `f` views the memory the wasm functions work on.
 */
export function packPanels(
  fns: PackFns,
  f: Float64Array,
  base: number,
  src: number,
  rows: number,
  k: number,
  kp: number,
  pr: number,
  transposed: boolean,
): void {
  if (transposed) packTransposed(fns, f, base, src, rows, k, kp, pr);
  else packRows(fns, f, base, src, rows, k, kp, pr);
  // Padding rows of the last panel are zero for every t.
  const step = 2 * pr;
  for (let row = rows; row < Math.ceil(rows / pr) * pr; row++) {
    let o = base + Math.floor(row / pr) * pr * kp + (row % pr) * 2;
    for (let t = 0; t < kp; t += 2, o += step) {
      f[o] = 0;
      f[o + 1] = 0;
    }
  }
}

function packRows(fns: PackFns, f: Float64Array, base: number, src: number, rows: number, k: number, kp: number, pr: number): void {
  const step = 2 * pr;
  const pairs = k >> 1;
  for (let row = 0; row < rows; row++) {
    const s = src + row * k;
    let o = base + Math.floor(row / pr) * pr * kp + (row % pr) * 2;
    if (pairs > 0) fns.copyPairs(o * 8, s * 8, pairs, step * 8);
    o += pairs * step;
    let t = pairs * 2;
    if (t < k) {
      f[o] = f[s + t]!;
      f[o + 1] = 0;
      t += 2;
      o += step;
    }
    for (; t < kp; t += 2, o += step) {
      f[o] = 0;
      f[o + 1] = 0;
    }
  }
}

/** The source is k×rows: pairs of rows at the same offset in every panel are moved per pair of t. */
function packTransposed(fns: PackFns, f: Float64Array, base: number, src: number, rows: number, k: number, kp: number, pr: number): void {
  const panel = pr * kp;
  const at = (row: number, t: number): number => base + Math.floor(row / pr) * panel + ((t >> 1) * pr + (row % pr)) * 2 + (t & 1);
  // Row pairs (r, r+1) share a panel only when pr is even; otherwise every row goes element-wise.
  const pairedRows = pr % 2 === 0 ? rows & ~1 : 0;
  const k2 = k & ~1;
  if (pairedRows > 0) {
    for (let t = 0; t < k2; t += 2) {
      for (let r = 0; r < pr; r += 2) {
        // Panels p with row p·pr + r + 1 < pairedRows.
        const count = pairedRows - r - 2 >= 0 ? Math.floor((pairedRows - r - 2) / pr) + 1 : 0;
        if (count > 0) fns.transposePairs(at(r, t) * 8, (src + t * rows + r) * 8, count, pr * 8, panel * 8, rows * 8);
      }
    }
  }
  for (let t = k2; t < kp; t++) for (let row = 0; row < pairedRows; row++) f[at(row, t)] = t < k ? f[src + t * rows + row]! : 0;
  for (let row = pairedRows; row < rows; row++) for (let t = 0; t < kp; t++) f[at(row, t)] = t < k ? f[src + t * rows + row]! : 0;
}

/**
 * The float32 panel layout of matmul.ts: element (row, t) of a panel of `pr` rows, panel p, at
 * base + p·pr·kp + ((t>>2)·pr + r)·4 + (t&3) (f32 elements), so one 16-byte vector holds four
 * consecutive t. Rows of length k are read from the float64 `src` and rounded as they are
 * written, in one JS pass: converting into the shared memory with TypedArray.set first and then
 * moving measured slower (V8's set into shared memory converts element by element, ~2.6 ns each).
 * Rows are zero-padded to a multiple of pr and k to kp (a multiple of 4).
 */
export function packRows32(f: Float32Array, base: number, src: Float64Array, rows: number, k: number, kp: number, pr: number): void {
  const step = 4 * pr;
  const quads = k >> 2;
  const paddedRows = Math.ceil(rows / pr) * pr;
  for (let row = 0; row < paddedRows; row++) {
    let o = base + Math.floor(row / pr) * pr * kp + (row % pr) * 4;
    if (row >= rows) {
      packRowTail(f, o, src, 0, 0, 0, kp, step);
      continue;
    }
    let s = row * k;
    for (let q = 0; q < quads; q++, o += step, s += 4) {
      f[o] = src[s]!;
      f[o + 1] = src[s + 1]!;
      f[o + 2] = src[s + 2]!;
      f[o + 3] = src[s + 3]!;
    }
    packRowTail(f, o, src, s, quads * 4, k, kp, step);
  }
}

/**
 * The end of one packed row from element t on (a multiple of 4, at offset o; its source
 * element at src[at]): the partial quad of the row's last elements, zero past k, then zero quads
 * up to kp. A padding row passes t = k = 0.
 */
function packRowTail(f: Float32Array, o: number, src: Float64Array, at: number, t: number, k: number, kp: number, step: number): void {
  if (t < k) {
    for (let e = 0; e < 4; e++) f[o + e] = t + e < k ? src[at + e]! : 0;
    t += 4;
    o += step;
  }
  for (; t < kp; t += 4, o += step) f.fill(0, o, o + 4);
}

/**
 * The same float32 layout from a k×rows row-major float64 matrix (its columns become the rows):
 * in JS, one quad of t (four source rows, read along their length side by side) at a time; for
 * each panel the quad's pr·4 entries are consecutive. Walking one source row at a time instead
 * (each entry pr·kp away from the last) measured 1.7 ns an entry at 512 × 224, against 0.8.
 * Only quads q0..q1 (t from 4·q0 to 4·q1) when given: a share of the work for one thread.
 */
export function packTransposed32(
  f: Float32Array,
  base: number,
  src: Float64Array,
  rows: number,
  k: number,
  kp: number,
  pr: number,
  q0 = 0,
  q1 = kp >> 2,
): void {
  const panelStride = pr * kp;
  const panels = Math.ceil(rows / pr);
  const full = Math.floor(rows / pr);
  const fullQuads = k >> 2;
  for (let q = q0; q < q1; q++) {
    const t0 = q * 4;
    let o = base + q * pr * 4;
    if (q < fullQuads) {
      const s0 = t0 * rows;
      const s1 = s0 + rows;
      const s2 = s1 + rows;
      const s3 = s2 + rows;
      let c = 0;
      for (let p = 0; p < full; p++, o += panelStride) {
        for (let e = o; e < o + pr * 4; e += 4, c++) {
          f[e] = src[s0 + c]!;
          f[e + 1] = src[s1 + c]!;
          f[e + 2] = src[s2 + c]!;
          f[e + 3] = src[s3 + c]!;
        }
      }
      // The last, partial panel: its missing rows are zero.
      for (let e = o; full < panels && e < o + pr * 4; e += 4, c++) {
        const inside = c < rows;
        f[e] = inside ? src[s0 + c]! : 0;
        f[e + 1] = inside ? src[s1 + c]! : 0;
        f[e + 2] = inside ? src[s2 + c]! : 0;
        f[e + 3] = inside ? src[s3 + c]! : 0;
      }
    } else {
      // The quad past k's last multiple of 4, and padding quads: entry by entry, zero beyond k.
      for (let p = 0; p < panels; p++, o += panelStride) {
        for (let r = 0; r < pr; r++) {
          const row = p * pr + r;
          for (let e = 0; e < 4; e++) f[o + r * 4 + e] = row < rows && t0 + e < k ? src[(t0 + e) * rows + row]! : 0;
        }
      }
    }
  }
}

/**
 * packRows32 for a source already in the shared memory (f64 element `src` of `x`, which views
 * the same memory as `f`): the whole quads of each row go through the wasm `demoteQuads` (two
 * f64x2 loads, two demotions, one store), which rounds to nearest exactly as a Float32Array store
 * does, so the panels are bit-for-bit packRows32's; JS writes the odd tail and the padding.
 */
export function packRowsShared(
  fns: PackFns,
  f: Float32Array,
  base: number,
  x: Float64Array,
  src: number,
  rows: number,
  k: number,
  kp: number,
  pr: number,
): void {
  const step = 4 * pr;
  const quads = k >> 2;
  const paddedRows = Math.ceil(rows / pr) * pr;
  for (let row = 0; row < paddedRows; row++) {
    const o = base + Math.floor(row / pr) * pr * kp + (row % pr) * 4;
    if (row >= rows) {
      packRowTail(f, o, x, 0, 0, 0, kp, step);
      continue;
    }
    const s = src + row * k;
    if (quads > 0) fns.demoteQuads(o * 4, s * 8, quads, step * 4);
    packRowTail(f, o + quads * step, x, s + quads * 4, quads * 4, k, kp, step);
  }
}

/**
 * packTransposed32's quads q0..q1 for a k×rows source already in the shared memory (f64 element
 * `src` of `x`): each whole quad of t moves as 4×2 blocks through the wasm `transposeQuads`, one
 * call per pair of panel rows (pr even); JS writes the rest (an odd last row, padding rows, the
 * last partial quad), so the panels are bit-for-bit packTransposed32's.
 */
export function packTransposedShared(
  fns: PackFns,
  f: Float32Array,
  base: number,
  x: Float64Array,
  src: number,
  rows: number,
  k: number,
  kp: number,
  pr: number,
  q0: number,
  q1: number,
): void {
  const panelStride = pr * kp;
  const panels = Math.ceil(rows / pr);
  const fullQuads = k >> 2;
  const pairedRows = pr % 2 === 0 ? rows & ~1 : 0;
  for (let q = q0; q < q1; q++) {
    const t0 = q * 4;
    const o = base + q * pr * 4;
    let first = 0;
    if (q < fullQuads && pairedRows > 0) {
      for (let r = 0; r < pr; r += 2) {
        const count = pairedRows - r - 2 >= 0 ? Math.floor((pairedRows - r - 2) / pr) + 1 : 0;
        if (count > 0) fns.transposeQuads((o + r * 4) * 4, (src + t0 * rows + r) * 8, count, rows * 8, pr * 8, panelStride * 4);
      }
      first = pairedRows;
    }
    for (let row = first; row < panels * pr; row++) {
      const e0 = o + Math.floor(row / pr) * panelStride + (row % pr) * 4;
      for (let e = 0; e < 4; e++) f[e0 + e] = row < rows && t0 + e < k ? x[src + (t0 + e) * rows + row]! : 0;
    }
  }
}
