/**
 * One thread's share of the half-Gram leave-one-out evaluation (symmetric-retrieval.ts), run by
 * every worker thread (kernels/pool.ts runTasks) or inline on the calling thread:
 * 1. classes, claimed from a shared counter: each member's positives with their exact float64
 *    scores, sorted, their float32 uncertainty intervals, its bucket map and table
 *    (kernels/rank-tile.ts); then a barrier, since any tile may touch any query;
 * 2. tiles (I, J), I ≤ J blocks of queries, claimed from a shared counter: the float32 scores of
 *    the tile, then rankTile counts them into this thread's own counts for the queries of I
 *    (items J) and of J (items I); the few candidates are counted here from exact scores. A
 *    thread writes only its own counts, so no tile order or lock is needed; the caller adds the
 *    threads' counts up.
 * Pairs of one class take no part in the tiles: a query's positives are counted from their
 * exact scores when the results are put together.
 */
import { firstIndex } from './rank-positives.js';
import { bucket32, WINDOW } from '../kernels/rank-tile.js';
import { instantiateKernels } from '../kernels/memory.js';

/** Shared control words. */
const CTRL_CLASS = 0;
const CTRL_CLASSES_DONE = 1;
const CTRL_TILE = 2;
export const CTRL_ABORT = 3;
const CTRL_PART = 4;
/** Then one word per thread: the tie records it wrote. */
export const CTRL_TIES = 5;

/** Tie records (4 i32 each) a thread may write; past that the caller falls back to the row-wise path. */
export const TIE_CAP = 1 << 20;

/** Byte addresses in the shared wasm memory, and the sizes they were laid out for. */
export interface SymmetricLayout {
  n: number;
  /** Queries padded to whole tiles (the rows past n are zeros, their states empty). */
  np: number;
  d: number;
  rowLen: number;
  /** Tile side (queries per block). */
  tile: number;
  /** float32 rows (the tiles' products), rowLen elements each. */
  x32: number;
  /** float64 rows (exact scores), rowBytes64 bytes each. */
  x64: number;
  rowBytes64: number;
  lo: number;
  sc: number;
  ce: number;
  tb: number;
  gb: number;
  /** Positives' interval ends (f32) per slot; +∞ past a query's last positive. */
  thrLo: number;
  thrHi: number;
  /**
   * Per thread t, at + t·threadBytes: its counts (i32 per slot), its tile, its candidate pairs
   * and their exact scores, and room for the float64 rows of the largest class.
   */
  cnt: number;
  tileBuf: number;
  /** The same tile transposed (items as rows). */
  tileT: number;
  cand: number;
  exact: number;
  classRows: number;
  /** Pairs the candidate buffer holds. */
  candCap: number;
  threadBytes: number;
  /** Slots (positives + WINDOW) over all queries. */
  slots: number;
  bytes: number;
}

export interface SymmetricTaskData {
  memory: object;
  module: object;
  layout: SymmetricLayout;
  threads: number;
  /** Class members in index order, class after class; classStart has classes + 1 entries. */
  members: SharedArrayBuffer;
  classStart: SharedArrayBuffer;
  /** Per query: first slot (counts, thresholds) and first positive. */
  slot: SharedArrayBuffer;
  pOff: SharedArrayBuffer;
  /** Positives' exact scores (ascending) and row indices (descending among equal scores), at pOff[q]. */
  ps: SharedArrayBuffer;
  pp: SharedArrayBuffer;
  /** Per thread: tie records (query, a, c, e), see countCandidate. */
  ties: SharedArrayBuffer;
  /** δ(q) = rel·norms[q] + abs. */
  norms: SharedArrayBuffer;
  rel: number;
  abs: number;
  control: SharedArrayBuffer;
}

/**
 * Slots per query beyond its positives: WINDOW of +∞ padding (windows near the top read past
 * the last positive), then WINDOW of (−∞, +∞] for buckets too dense for one window.
 */
export const EXTRA_SLOTS = 2 * WINDOW;

/** Buckets per query: four per positive makes a bucket reached by more than WINDOW intervals rare. */
export function bucketCount(m: number): number {
  return m === 0 ? 0 : Math.max(16, 4 * m);
}

/** The largest class the u16 codes (4g, g ≤ positives + WINDOW) can describe. */
export const MAX_POSITIVES = 16000;

type Kernel = (...args: number[]) => number;

/** The worker threads' entry (kernels/pool.ts runTasks): each takes the next thread number. */
export function runTask(data: SymmetricTaskData): void {
  runShare(data, Atomics.add(new Int32Array(data.control), CTRL_PART, 1));
}

/** Runs this thread's share; `part` numbers the thread (its counts and buffers). */
function runShare(data: SymmetricTaskData, part: number): void {
  const ctrl = new Int32Array(data.control);
  const kernels = instantiateKernels({ sym: data.module }, data.memory) as Record<string, Kernel>;
  const buf = (data.memory as { buffer: ArrayBuffer }).buffer;
  setupClasses(data, part, buf, kernels.exactDots!, ctrl);
  // Barrier: every query's table is written before any tile reads it.
  Atomics.add(ctrl, CTRL_CLASSES_DONE, 1);
  for (let done = Atomics.load(ctrl, CTRL_CLASSES_DONE); done < data.threads; done = Atomics.load(ctrl, CTRL_CLASSES_DONE)) {
    Atomics.wait(ctrl, CTRL_CLASSES_DONE, done, 50);
  }
  Atomics.notify(ctrl, CTRL_CLASSES_DONE);
  runTiles(data, part, buf, kernels, ctrl);
}

function setupClasses(data: SymmetricTaskData, part: number, buf: ArrayBuffer, exactDots: Kernel, ctrl: Int32Array): void {
  const L = data.layout;
  const members = new Int32Array(data.members);
  const classStart = new Int32Array(data.classStart);
  const classes = classStart.length - 1;
  const slot = new Int32Array(data.slot);
  const pOff = new Int32Array(data.pOff);
  const ps = new Float64Array(data.ps);
  const pp = new Int32Array(data.pp);
  const norms = new Float64Array(data.norms);
  const own = part * L.threadBytes;
  const pairs = new Int32Array(buf, L.cand + own, 2 * L.candCap);
  const scores = new Float64Array(buf, L.exact + own, L.candCap);
  const classRows = L.classRows + own;
  const f64 = new Float64Array(buf);
  const row64 = L.rowBytes64 / 8;
  const views: TableViews = {
    lo: new Float32Array(buf, L.lo, L.np),
    sc: new Float32Array(buf, L.sc, L.np),
    ce: new Float32Array(buf, L.ce, L.np),
    tb: new Int32Array(buf, L.tb, L.np),
    thrLo: new Float32Array(buf, L.thrLo, L.slots),
    thrHi: new Float32Array(buf, L.thrHi, L.slots),
    u16: new Uint16Array(buf),
    loB: new Int32Array(0),
    hiB: new Int32Array(0),
    cover: new Int32Array(0),
    below: new Int32Array(0),
  };
  let row = new Int32Array(0);
  let ord = new Int32Array(0);
  let raw = new Float64Array(0);
  let sorted = new Float64Array(0);
  let keys = new Float64Array(0);
  let taken = new Uint8Array(0);
  for (let c = Atomics.add(ctrl, CTRL_CLASS, 1); c < classes; c = Atomics.add(ctrl, CTRL_CLASS, 1)) {
    const s0 = classStart[c]!;
    const size = classStart[c + 1]! - s0;
    const m = size - 1;
    if (m === 0) continue;
    if (row.length < m) {
      row = new Int32Array(m);
      ord = new Int32Array(m);
      raw = new Float64Array(m);
      sorted = new Float64Array(m);
      keys = new Float64Array(m);
      taken = new Uint8Array(m);
      views.loB = new Int32Array(m);
      views.hiB = new Int32Array(m);
    }
    const top = bucketCount(m);
    if (views.cover.length < top + 3) {
      views.cover = new Int32Array(top + 3);
      views.below = new Int32Array(top + 3);
    }
    // The class's rows side by side, so its m·(m+1) exact scores read them from cache.
    for (let a = 0; a < size; a++) {
      const from = (L.x64 >> 3) + members[s0 + a]! * row64;
      f64.copyWithin(classRows / 8 + a * row64, from, from + row64);
    }
    for (let a = 0; a < size; a++) {
      const q = members[s0 + a]!;
      for (let k0 = 0; k0 < m; k0 += L.candCap) {
        const len = Math.min(L.candCap, m - k0);
        for (let k = 0; k < len; k++) {
          pairs[2 * k] = a;
          pairs[2 * k + 1] = k0 + k < a ? k0 + k : k0 + k + 1;
        }
        exactDots(L.cand + own, len, classRows, L.rowBytes64, L.exact + own);
        for (let k = 0; k < len; k++) {
          raw[k0 + k] = scores[k]!;
          row[k0 + k] = members[s0 + pairs[2 * k + 1]!]!;
        }
      }
      sortPositives(raw, row, ord, m, keys, taken);
      const p0 = pOff[q]!;
      for (let t = 0; t < m; t++) {
        sorted[t] = raw[ord[t]!]!;
        ps[p0 + t] = sorted[t]!;
        pp[p0 + t] = row[ord[t]!]!;
      }
      writeTable(q, sorted, m, data.rel * norms[q]! + data.abs, top, slot[q]!, views);
    }
  }
}

/**
 * ord[0..m) = positions 0..m−1 sorted by score ascending, then row index descending (the order
 * of rank-positives.ts). The scores are sorted natively (a typed-array sort with a comparator
 * took ~8 µs a query here), each position found back by binary search, and runs of equal
 * scores put in row order by hand. `keys` and `taken` are scratch of at least m entries.
 */
function sortPositives(score: Float64Array, row: Int32Array, ord: Int32Array, m: number, keys: Float64Array, taken: Uint8Array): void {
  const sorted = keys.subarray(0, m);
  sorted.set(score.subarray(0, m));
  sorted.sort();
  taken.fill(0, 0, m);
  for (let t = 0; t < m; t++) {
    let p = firstIndex(sorted, 0, m, score[t]!, false);
    while (taken[p]) p++;
    taken[p] = 1;
    ord[p] = t;
  }
  for (let a = 0; a < m; ) {
    let c = a + 1;
    while (c < m && sorted[c] === sorted[a]) c++;
    for (let k = a + 1; k < c; k++) {
      const u = ord[k]!;
      let t = k;
      while (t > a && row[ord[t - 1]!]! < row[u]!) {
        ord[t] = ord[t - 1]!;
        t--;
      }
      ord[t] = u;
    }
    a = c;
  }
}

interface TableViews {
  lo: Float32Array;
  sc: Float32Array;
  ce: Float32Array;
  tb: Int32Array;
  thrLo: Float32Array;
  thrHi: Float32Array;
  u16: Uint16Array;
  loB: Int32Array;
  hiB: Int32Array;
  cover: Int32Array;
  below: Int32Array;
}

const scratchF = new Float32Array(1);
const scratchI = new Int32Array(scratchF.buffer);

/** The float32 at or below v (at or above with `up`): the intervals are rounded outward. */
function f32Toward(v: number, up: boolean): number {
  const f = Math.fround(v);
  return (up ? f >= v : f <= v) ? f : f32Step(f, up);
}

/** The next float32 after f, up or down. */
function f32Step(f: number, up: boolean): number {
  if (f === 0) return up ? 2 ** -149 : -(2 ** -149);
  scratchF[0] = f;
  scratchI[0]! += f > 0 === up ? 1 : -1;
  return scratchF[0]!;
}

/**
 * Query q's intervals: lo_k the float32 just below s_k − δ (so that "x > lo_k" is "x ≥ s_k − δ"
 * rounded outward) and hi_k ≥ s_k + δ; its bucket map over [lo_0, hi_{m−1}] and its table of
 * window offsets (see kernels/rank-tile.ts).
 */
function writeTable(q: number, ps: Float64Array, m: number, delta: number, top: number, slot: number, v: TableViews): void {
  const { loB, hiB, cover, below, thrLo, thrHi } = v;
  for (let k = 0; k < m; k++) {
    thrLo[slot + k] = f32Step(f32Toward(ps[k]! - delta, false), false);
    thrHi[slot + k] = f32Toward(ps[k]! + delta, true);
  }
  for (let k = m + WINDOW; k < m + 2 * WINDOW; k++) thrLo[slot + k] = -Infinity;
  const lo = thrLo[slot]!;
  const range = Math.fround(thrHi[slot + m - 1]! - lo);
  let sc = range > 0 ? Math.fround((top - 1) / range) : 1;
  if (!Number.isFinite(sc) || sc <= 0) sc = 2 ** 100;
  const ce = top + 0.5;
  v.lo[q] = lo;
  v.sc[q] = sc;
  v.ce[q] = ce;
  cover.fill(0, 0, top + 3);
  below.fill(0, 0, top + 3);
  for (let k = 0; k < m; k++) {
    loB[k] = bucket32(thrLo[slot + k]!, lo, sc, ce);
    hiB[k] = bucket32(thrHi[slot + k]!, lo, sc, ce);
    cover[loB[k]!]!++;
    cover[hiB[k]! + 1]!--;
    below[hiB[k]! + 1]!++;
  }
  const base = v.tb[q]! >> 1;
  let r = 0;
  let g = 0;
  for (let b = 0; b < top + 2; b++) {
    r += cover[b]!;
    g += below[b]!;
    v.u16[base + b] = 4 * (r > WINDOW ? m + WINDOW : g);
  }
}

function runTiles(data: SymmetricTaskData, part: number, buf: ArrayBuffer, kernels: Record<string, Kernel>, ctrl: Int32Array): void {
  const L = data.layout;
  const T = L.tile;
  const blocks = L.np / T;
  const tiles = (blocks * (blocks + 1)) / 2;
  const { gramT, rankTile, exactDots } = kernels as Record<'gramT' | 'rankTile' | 'exactDots', Kernel>;
  const own = part * L.threadBytes;
  const cnt = L.cnt + own;
  const tileBuf = L.tileBuf + own;
  const cand = L.cand + own;
  const tileF = new Float32Array(buf, tileBuf, T * T);
  const tileTF = new Float32Array(buf, L.tileT + own, T * T);
  const candI = new Int32Array(buf, cand, 2 * L.candCap);
  const scores = new Float64Array(buf, L.exact + own, L.candCap);
  const counts = new Int32Array(buf, cnt, L.slots);
  const slot = new Int32Array(data.slot);
  const members = new Int32Array(data.members);
  const classStart = new Int32Array(data.classStart);
  const classOf = classNumbers(classStart, members, L.n);
  const pOff = new Int32Array(data.pOff);
  const ps = new Float64Array(data.ps);
  const pp = new Int32Array(data.pp);
  const ties: Ties = { records: new Int32Array(data.ties, part * TIE_CAP * 16, 4 * TIE_CAP), count: 0 };
  const rowBytes = L.rowLen * 4;
  let pairs = 0;
  let candidates = 0;
  // Tiles in row order of the upper triangle: tile t ↦ (I, J).
  let I = 0;
  let rowStart = 0;
  let rowEnd = blocks;
  for (let t = Atomics.add(ctrl, CTRL_TILE, 1); t < tiles; t = Atomics.add(ctrl, CTRL_TILE, 1)) {
    if (Atomics.load(ctrl, CTRL_ABORT) !== 0) break;
    while (t >= rowEnd) {
      rowStart = rowEnd;
      I++;
      rowEnd += blocks - I;
    }
    const J = I + (t - rowStart);
    const i0 = I * T;
    const j0 = J * T;
    gramT(L.x32 + i0 * rowBytes, T, L.x32 + j0 * rowBytes, T, tileBuf, T * 4, L.tileT + own);
    const nI = Math.min(T, L.n - i0);
    const nJ = Math.min(T, L.n - j0);
    // Padding items, and pairs of one class (the query itself included), score −∞: below all.
    if (nJ < T) for (let r = 0; r < nI; r++) tileF.fill(-Infinity, r * T + nJ, (r + 1) * T);
    if (nI < T) for (let c = 0; c < nJ; c++) tileTF.fill(-Infinity, c * T + nI, (c + 1) * T);
    for (let r = 0; r < nI; r++) {
      const k = classOf[i0 + r]!;
      const end = classStart[k + 1]!;
      for (let e = firstIndex(members, classStart[k]!, end, j0, false); e < end && members[e]! < j0 + T; e++) {
        tileF[r * T + members[e]! - j0] = -Infinity;
        tileTF[(members[e]! - j0) * T + r] = -Infinity;
      }
    }
    const state = [L.lo, L.sc, L.ce, L.tb, L.gb, L.thrLo, cnt];
    let count = rankTile(tileBuf, T * 4, nI, T, i0, j0, ...state, cand);
    // The transposed tile: queries of J against items of I (a diagonal tile holds both already).
    if (I !== J) count += rankTile(L.tileT + own, T * 4, nJ, T, j0, i0, ...state, cand + 8 * count);
    exactDots(cand, count, L.x64, L.rowBytes64, L.exact + own);
    for (let e = 0; e < count; e++) {
      const q = candI[2 * e]!;
      countCandidate(q, candI[2 * e + 1]!, scores[e]!, ps, pp, pOff[q]!, pOff[q + 1]! - pOff[q]!, counts, slot[q]!, ties);
    }
    pairs += I === J ? nI * nI : 2 * nI * nJ;
    candidates += count;
    // Heavily tied scores (collapsed embeddings) make most items candidates, or ties overflow
    // their records: the row-wise path, which handles them, runs instead.
    if (ties.count + L.candCap > TIE_CAP || (candidates > 100_000 && candidates * 20 > pairs)) {
      Atomics.store(ctrl, CTRL_ABORT, 1);
      break;
    }
  }
  Atomics.store(ctrl, CTRL_TIES + part, ties.count);
}

/** Each row's class number (its index in classStart), from the class-by-class member list. */
function classNumbers(classStart: Int32Array, members: Int32Array, n: number): Int32Array {
  const out = new Int32Array(n);
  for (let c = 0; c + 1 < classStart.length; c++) for (let e = classStart[c]!; e < classStart[c + 1]!; e++) out[members[e]!] = c;
  return out;
}

interface Ties {
  records: Int32Array;
  count: number;
}

/**
 * Candidate item j of query q (exact score s) against q's m sorted positives at ps/pp[p0..):
 * strictly above positives [0, a), it counts in gap a. Tied with positives [a, c) (equal exact
 * scores, rare), it also counts in their atLeast, and in the ahead of those after it in index
 * order, [a, e): a tie record (q, a, c, e) for the caller.
 */
function countCandidate(
  q: number,
  j: number,
  s: number,
  ps: Float64Array,
  pp: Int32Array,
  p0: number,
  m: number,
  counts: Int32Array,
  g0: number,
  ties: Ties,
): void {
  const a = firstIndex(ps, p0, p0 + m, s, false) - p0;
  const c = firstIndex(ps, p0 + a, p0 + m, s, true) - p0;
  counts[g0 + a]!++;
  if (c > a) {
    // Tied positives are sorted by row index descending: those after j come first, [a, e).
    let e = a;
    let hi = c;
    while (e < hi) {
      const mid = (e + hi) >>> 1;
      if (j < pp[p0 + mid]!) e = mid + 1;
      else hi = mid;
    }
    const r = 4 * ties.count++;
    ties.records[r] = q;
    ties.records[r + 1] = a;
    ties.records[r + 2] = c;
    ties.records[r + 3] = e;
  }
}
