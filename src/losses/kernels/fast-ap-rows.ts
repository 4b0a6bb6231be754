import { viewsPerJob } from '../../kernels/views.js';
import type { FastApHist } from './fast-ap-wasm.js';
import type { PackFns } from '../../kernels/pack.js';
import type { KernelExports } from '../../kernels/jobs.js';

/**
 * FastAP's own pass over S (Cakir et al., CVPR 2019; the loss is losses/fast-ap.ts): for each
 * query, the soft histograms of its d² = 2 − 2s over bins+1 centres z_l = l·Δ, Δ = 4/bins, with
 * the triangular kernel max(0, 1 − |d² − z_l|/Δ), its AP estimate, and its row of G = ∂L/∂S.
 * Each item falls in at most two adjacent bins, so a query costs O(B + bins). The query itself
 * is in neither histogram (standard convention).
 *
 * Queries are independent: a range of them is one block of the pool job 'fast-ap-rows'
 * (kernels/jobs.ts), so the pass runs on every thread, reading S and writing G in the shared
 * memory; the same function serves the float64 path on this thread alone.
 *
 * ∂L/∂s_qj depends only on j's lower bin l0 = ⌊d²/Δ⌋ and on whether j is a positive, so the
 * backward pass computes it once per (bin, positive or not) and each pair just looks up the
 * value of the slot it fell into during the forward pass (no second ⌊·⌋ or range test per pair).
 */

/**
 * The pass's inputs and outputs; S is read only on and above its diagonal (a symmetric product
 * computes no more). G is not written out: g_qj is the entry of query q's table at j's slot, so
 * the pass stores one 16-bit slot per pair and one table per query, and whoever needs G (packing
 * G + Gᵀ, or the sparse product) looks it up (gOf, fastApExpand, the 'fast-ap-pack' job).
 */
export interface FastApRows {
  /** S (n rows of stride ld): s_qj at q·ld + j for j ≥ q, at j·ld + q for j < q. */
  s: Float64Array | Float32Array;
  ld: number;
  n: number;
  /**
   * Slot of every pair, row q for query q (n×n); j = q points at a zero entry. A pair's slot is
   * the same from either end (the same s_qj, class and bin), so g_qj + g_jq = the two queries'
   * table entries at one slot.
   */
  slots: Uint16Array;
  /** Per query, tableSize(bins) entries: ∂L/∂s_qj for a pair in each slot. */
  tables: Float64Array;
  /** Compact class id per item, and the positives of each item (its class's size − 1). */
  classOf: Int32Array;
  nPos: Int32Array;
  /** Queries with a positive: the Q of the mean over queries. */
  queries: number;
  bins: number;
  /** Per query: AP estimate (NaN without positives). */
  ap: Float64Array;
  /**
   * The wasm histogram loop (fast-ap-wasm.ts), when s is float32 and every array above views the
   * memory it runs on; each query's histogram is then built in its own table.
   */
  wasmHist?: FastApHist;
}

/**
 * Entries of one query's table: negatives' slots, then positives' (bins + 5 each). Slots fit in
 * 16 bits up to bins = 32,762 (the loss allows 10,000).
 */
export function tableSize(bins: number): number {
  return 2 * (bins + 5);
}

/** Slot W − 1 (W = bins + 5) is never a pair's: its entry is always 0, for j = q and for queries without positives. */
function zeroSlot(bins: number): number {
  return bins + 4;
}

/** One thread's working arrays, kept from call to call (sized for the largest bins so far). */
let work: { hist: Float64Array; bins: Float64Array } | null = null;

function workFor(bins: number) {
  const w = tableSize(bins);
  if (!work || work.hist.length < w) work = { hist: new Float64Array(w), bins: new Float64Array(2 * w) };
  return work;
}

/** Runs queries q0..q1 (see FastApRows). */
export function fastApRows(r: FastApRows, q0: number, q1: number): void {
  const { s, ld, n, slots, tables, classOf, nPos: nPosOf, queries, bins, ap } = r;
  const L = bins + 1;
  const delta = 4 / bins;
  // Slots of one histogram: bin l at slot l + 2. A pair whose lower bin l0 is −1 or L−1 has one
  // of its two weights off the end, and one with l0 further out both: l0 is clamped to [−2, L],
  // so those weights land in the two slots at either end, which are never read. This keeps the
  // per-pair work free of range tests. Negatives' slots come first, positives' W further.
  const W = L + 4;
  const size = tableSize(bins);
  const zero = zeroSlot(bins);
  const w = workFor(bins);
  const wasm = r.wasmHist;
  // Cumulative histograms and ∂F/∂h⁺_l, ∂F/∂h⁻_l of the current query.
  const cumPos = w.bins.subarray(0, L);
  const cumAll = w.bins.subarray(L, 2 * L);
  const dPos = w.bins.subarray(2 * L, 3 * L);
  const dNeg = w.bins.subarray(3 * L, 4 * L);

  for (let q = q0; q < q1; q++) {
    const nPos = nPosOf[q]!;
    const row = q * n;
    const tab = q * size;
    const c = classOf[q]!;
    // The histogram: this thread's scratch in JS; with the wasm loop, query q's own table, which
    // is written only once the histogram has been read.
    const hist = wasm ? tables : w.hist;
    const h0 = wasm ? tab : 0;
    hist.fill(0, h0, h0 + size);
    // Items before q: column q above the diagonal; after it: row q.
    if (wasm) {
      const [sAt, classAt, slotsAt, histAt] = [s.byteOffset, classOf.byteOffset, slots.byteOffset + row * 2, tables.byteOffset + tab * 8];
      if (q > 0) wasm(sAt + q * 4, ld * 4, q, classAt, c, W, L, delta, histAt, slotsAt);
      if (q + 1 < n) wasm(sAt + (q * ld + q + 1) * 4, 4, n - q - 1, classAt + (q + 1) * 4, c, W, L, delta, histAt, slotsAt + (q + 1) * 2);
    } else histogramJs(r, q, hist, W);
    slots[row + q] = zero;
    if (nPos === 0) {
      // No AP and a zero row of G; its slots are still filled, for g_ji (see fastApPackSymmetric).
      tables.fill(0, tab, tab + size);
      ap[q] = NaN;
      continue;
    }
    // FastAP_q = (1/N⁺) Σ_l f_l, f_l = h⁺_l·H⁺_l/H_l over active bins (h⁺_l·H⁺_l > 0, H_l > 0).
    // For active l: ∂f_l/∂h⁺_m = [m=l]·H⁺_l/H_l + [m≤l]·(h⁺_l − f_l)/H_l and ∂f_l/∂h⁻_m = −[m≤l]·f_l/H_l;
    // the [m≤l] parts are suffix sums, collected from the top bin down.
    let cp = 0;
    let ca = 0;
    for (let l = 0; l < L; l++) {
      const hp = hist[h0 + W + l + 2]!;
      cp += hp;
      ca += hp + hist[h0 + l + 2]!;
      cumPos[l] = cp;
      cumAll[l] = ca;
    }
    let fsum = 0;
    let sufPos = 0;
    let sufNeg = 0;
    for (let l = L - 1; l >= 0; l--) {
      const hp = hist[h0 + W + l + 2]!;
      const f = hp * cumPos[l]!;
      const h = cumAll[l]!;
      let own = 0;
      if (f > 0 && h > 0) {
        const fl = f / h;
        fsum += fl;
        sufPos += (hp - fl) / h;
        sufNeg -= fl / h;
        own = cumPos[l]! / h;
      }
      dPos[l] = own + sufPos;
      dNeg[l] = sufNeg;
    }
    ap[q] = fsum / nPos;
    // ∂L/∂s_qj = −1/(Q·N⁺) · Σ_l ∂F/∂h_l · ∂δ_l/∂u · ∂u/∂s, with ∂u/∂s = −2/Δ and
    // ∂δ/∂u = −1 on bin l0, +1 on bin l0+1 (a bin off the end contributes 0).
    const scale = (-1 / (queries * nPos)) * (-2 / delta);
    for (let k = 0; k < W - 1; k++) {
      const lo = k - 2;
      const hi = k - 1;
      tables[tab + k] = scale * ((hi >= 0 && hi < L ? dNeg[hi]! : 0) - (lo >= 0 && lo < L ? dNeg[lo]! : 0));
      tables[tab + W + k] = scale * ((hi >= 0 && hi < L ? dPos[hi]! : 0) - (lo >= 0 && lo < L ? dPos[lo]! : 0));
    }
    tables[tab + zero] = 0;
  }
}

/** Query q's histogram in JS, into hist[0 .. 2W) (see fastApRows). */
function histogramJs(r: FastApRows, q: number, hist: Float64Array, W: number): void {
  const { s, ld, n, slots, classOf, bins } = r;
  const L = bins + 1;
  const delta = 4 / bins;
  const c = classOf[q]!;
  const row = q * n;
  for (let j = 0; j < q; j++) {
    const u = (2 - 2 * s[j * ld + q]!) / delta;
    const l0 = Math.floor(u);
    const frac = u - l0;
    const k = (classOf[j] === c ? W : 0) + (l0 < -2 ? 0 : l0 > L ? L + 2 : l0 + 2);
    hist[k]! += 1 - frac;
    hist[k + 1]! += frac;
    slots[row + j] = k;
  }
  const sRow = q * ld;
  for (let j = q + 1; j < n; j++) {
    const u = (2 - 2 * s[sRow + j]!) / delta;
    const l0 = Math.floor(u);
    const frac = u - l0;
    const k = (classOf[j] === c ? W : 0) + (l0 < -2 ? 0 : l0 > L ? L + 2 : l0 + 2);
    hist[k]! += 1 - frac;
    hist[k + 1]! += frac;
    slots[row + j] = k;
  }
}

/** g_ij: query i's table entry at j's slot. */
function gOf(r: Pick<FastApRows, 'slots' | 'tables' | 'n' | 'bins'>, i: number, j: number): number {
  return r.tables[i * tableSize(r.bins) + r.slots[i * r.n + j]!]!;
}

/** G (n×n, row-major float64) from the pass's slots and tables, into `g`. */
export function fastApExpand(r: Pick<FastApRows, 'slots' | 'tables' | 'n' | 'bins'>, g: Float64Array): Float64Array {
  for (let i = 0; i < r.n; i++) for (let j = 0; j < r.n; j++) g[i * r.n + j] = gOf(r, i, j);
  return g;
}

/**
 * Rows r0..r1 of G + Gᵀ in the float32 panel layout of pack.ts's packRows32 (MR-row panels of
 * k = n padded to kp, r0 a multiple of mr; rows past n and t past n zero), each entry g_ij + g_ji
 * rounded once: the same value as symmetrising G in float64 and then packing it. The pair's one
 * slot k gives both terms: tables of i and of j at k. Returns the non-zero g_ij of those rows
 * (for the sparse-product test, which looks at G itself). With `fns` (the wasm packing module
 * on the memory that f, slots and tables view), each row's whole quads go through its slotSums:
 * the same sums, rounded the same way, in less time than in JS.
 */
export function fastApPackSymmetric(
  r: Pick<FastApRows, 'slots' | 'tables' | 'n' | 'bins'>,
  f: Float32Array,
  base: number,
  kp: number,
  mr: number,
  r0: number,
  r1: number,
  fns?: PackFns,
): number {
  const { slots, tables, n } = r;
  const size = tableSize(r.bins);
  const step = 4 * mr;
  const quads = n >> 2;
  let nz = 0;
  for (let p0 = r0; p0 < r1; p0 += mr) {
    const panel = base + (p0 / mr) * mr * kp;
    for (let rr = 0; rr < mr; rr++) {
      const i = p0 + rr;
      let o = panel + rr * 4;
      let t = 0;
      if (i < n) {
        const row = i * n;
        const ti = i * size;
        if (fns && quads > 0) {
          nz += fns.slotSums(f.byteOffset + o * 4, slots.byteOffset + row * 2, tables.byteOffset + ti * 8, tables.byteOffset, quads, step * 4, size * 8);
          t = quads * 4;
          o += quads * step;
        }
        for (let tj = t * size; t + 4 <= n; t += 4, o += step) {
          for (let e = 0; e < 4; e++, tj += size) {
            const k = slots[row + t + e]!;
            const a = tables[ti + k]!;
            if (a !== 0) nz++;
            f[o + e] = a + tables[tj + k]!;
          }
        }
        if (t < n) {
          for (let e = 0; e < 4; e++) {
            const j = t + e;
            if (j >= n) {
              f[o + e] = 0;
              continue;
            }
            const k = slots[row + j]!;
            const a = tables[ti + k]!;
            if (a !== 0) nz++;
            f[o + e] = a + tables[j * size + k]!;
          }
          t += 4;
          o += step;
        }
      }
      for (; t < kp; t += 4, o += step) f.fill(0, o, o + 4);
    }
  }
  return nz;
}

/** A pass's arrays as views of the shared memory (byte offsets), for its jobs. */
function sharedRows(memory: ArrayBufferLike, slotsOff: number, tablesOff: number, n: number, bins: number) {
  return { slots: new Uint16Array(memory, slotsOff, n * n), tables: new Float64Array(memory, tablesOff, n * tableSize(bins)), n, bins };
}

/**
 * The parameters of a 'fast-ap-rows' job, in the order they are passed to the pool: byte
 * offsets into the shared memory of S (float32 when sBytes is 4, else float64; ld entries a
 * row), the slots (uint16) and tables (float64), classOf and nPos (int32) and ap (float64);
 * then n, queries, bins and the queries per block.
 */
export const FAST_AP_ROWS_PARAMS = [
  'sOff',
  'sBytes',
  'ld',
  'slotsOff',
  'tablesOff',
  'classOff',
  'nPosOff',
  'apOff',
  'n',
  'queries',
  'bins',
  'perBlock',
] as const;

const rowsViews = viewsPerJob((memory, p): FastApRows => {
  const n = p[8]!;
  const ld = p[2]!;
  const { slots, tables, bins } = sharedRows(memory, p[3]!, p[4]!, n, p[10]!);
  return {
    s: p[1] === 4 ? new Float32Array(memory, p[0]!, n * ld) : new Float64Array(memory, p[0]!, n * ld),
    ld,
    n,
    slots,
    tables,
    classOf: new Int32Array(memory, p[5]!, n),
    nPos: new Int32Array(memory, p[6]!, n),
    queries: p[9]!,
    bins,
    ap: new Float64Array(memory, p[7]!, n),
    wasmHist: undefined,
  };
});

/** Block `idx` of a 'fast-ap-rows' job: queries idx·perBlock onwards. */
export function fastApRowsBlock(kernels: KernelExports, p: Int32Array, idx: number, memory: ArrayBufferLike): void {
  const rows = rowsViews(memory, p);
  // The wasm loop reads float32 scores only; without it (a runtime that refused the module) JS.
  if (p[1] === 4) rows.wasmHist = kernels.fastApHist as FastApHist | undefined;
  const q0 = idx * p[11]!;
  fastApRows(rows, q0, Math.min(rows.n, q0 + p[11]!));
}

/**
 * The parameters of a 'fast-ap-pack' job (fastApPackSymmetric over blocks of `perBlock` rows, a
 * multiple of mr): byte offsets of the slots and tables, n, bins, the panels' byte offset, kp, mr,
 * perBlock, and the byte offset of an int32 per block that gets the block's non-zero count.
 */
export const FAST_AP_PACK_PARAMS = ['slotsOff', 'tablesOff', 'n', 'bins', 'aOff', 'kp', 'mr', 'perBlock', 'nnzOff'] as const;

const packViews = viewsPerJob((memory, p) => ({
  rows: sharedRows(memory, p[0]!, p[1]!, p[2]!, p[3]!),
  f: new Float32Array(memory),
  counts: new Int32Array(memory, p[8]!, Math.ceil(p[2]! / p[7]!)),
}));

export function fastApPackBlock(kernels: KernelExports, p: Int32Array, idx: number, memory: ArrayBufferLike): void {
  const { rows, f, counts } = packViews(memory, p);
  const r0 = idx * p[7]!;
  counts[idx] = fastApPackSymmetric(rows, f, p[4]! / 4, p[5]!, p[6]!, r0, Math.min(rows.n, r0 + p[7]!), kernels as unknown as PackFns);
}
