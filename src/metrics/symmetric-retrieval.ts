/**
 * Leave-one-out evaluation over half of the Gram matrix. Scores are symmetric (s_ij = s_ji), so
 * each unordered pair is multiplied once, in float32, and counted into the ranking state of
 * both queries; the row-wise path (retrieval-core.ts) multiplies every pair twice. That needs
 * every query's state alive at once, so the state is compact: per query, its positives' exact
 * scores and float32 uncertainty intervals, a small bucket table, and one count per gap
 * between consecutive positives (symmetric-task.ts, kernels/rank-tile.ts). Every item within
 * the float32 bound of a positive is counted from its exact float64 score, so the results are
 * exactly those of the row-wise path.
 */
import { wasmApi, type WasmMemory } from '../kernels/wasm-asm.js';
import { ensureBytes, roundUp, sharedMemory } from '../kernels/memory.js';
import { symmetricModule } from '../kernels/rank-tile.js';
import { relaxedSimdAvailable } from '../kernels/relaxed-simd.js';
import { rowAlign } from '../kernels/similarity-rows.js';
import { runTasks } from '../kernels/pool.js';
import { SLOTS, writeQueryResults, type ClassIndex, type F32Bound } from './retrieval-core.js';
import { bucketCount, EXTRA_SLOTS, CTRL_ABORT, CTRL_TIES, runTask, TIE_CAP, type SymmetricLayout, type SymmetricTaskData } from './symmetric-task.js';

/** Queries per block (tile side): a 256×256 float32 tile (256 KiB) and its two row blocks stay in L2. */
export const SYMMETRIC_TILE = 256;

const MAX_BYTES = 4 * 2 ** 30 - 2 ** 16;

/**
 * Per-query results (SLOTS per query, NaN rows for queries without a positive), or null when the
 * scores are too heavily tied for this path to pay (collapsed embeddings) or the state would not
 * fit in wasm memory: the caller then runs the row-wise path. `idx`: classIndex(labels).
 * `script`: the compiled task
 * module for `threads` worker threads (null: this thread only).
 */
export async function symmetricPerQuery(
  x: ArrayLike<number>,
  n: number,
  d: number,
  labels: Int32Array,
  idx: ClassIndex,
  bound: F32Bound,
  threads: number,
  script: URL | null,
  tile = SYMMETRIC_TILE,
): Promise<Float64Array | null> {
  const T = roundUp(Math.max(4, tile), 4);
  const parts = script ? threads : 1;
  const classList = [...idx.start.keys()];
  const classStart = new Int32Array(new SharedArrayBuffer(4 * (classList.length + 1)));
  classList.forEach((l, c) => (classStart[c + 1] = idx.start.get(l)! + idx.count.get(l)!));
  const np = roundUp(n, T);
  const rowLen = roundUp(d, rowAlign('f32'));
  const slot = new Int32Array(new SharedArrayBuffer(4 * np));
  const pOff = new Int32Array(new SharedArrayBuffer(4 * (n + 1)));
  const tableAt = new Int32Array(np);
  let slots = 0;
  let tableEntries = 0;
  let maxClass = 0;
  for (const c of idx.count.values()) maxClass = Math.max(maxClass, c);
  for (let q = 0; q < np; q++) {
    const m = q < n ? idx.count.get(labels[q]!)! - 1 : 0;
    slot[q] = slots;
    slots += m + EXTRA_SLOTS;
    tableAt[q] = tableEntries;
    tableEntries += bucketCount(m) + 2;
    if (q < n) pOff[q + 1] = pOff[q]! + m;
  }
  const L = layout({ n, np, d, rowLen, T, slots, tableEntries, parts, maxClass });
  if (L.bytes > MAX_BYTES) return null;

  const wa = wasmApi()!;
  const module = new wa.Module(symmetricModule(rowLen, relaxedSimdAvailable(), L.thrHi - L.thrLo));
  const memory = takeMemory(L.bytes);
  const buf = memory.buffer;
  const x32 = new Float32Array(buf, L.x32, np * rowLen);
  const x64 = new Float64Array(buf, L.x64, (np * L.rowBytes64) / 8);
  const row64 = L.rowBytes64 / 8;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) {
      x32[i * rowLen + t] = x[i * d + t]!;
      x64[i * row64 + t] = x[i * d + t]!;
    }
  }
  // Queries without positives (and padding) keep an empty map: every score in bucket 1 of 2.
  new Float32Array(buf, L.ce, np).fill(0.5);
  const tb = new Int32Array(buf, L.tb, np);
  for (let q = 0; q < np; q++) tb[q] = L.tables + 2 * tableAt[q]!;
  new Int32Array(buf, L.gb, np).set(slot);
  // Past each query's last positive the window compares with +∞: never above, never a candidate.
  new Float32Array(buf, L.thrLo, slots).fill(Infinity);
  new Float32Array(buf, L.thrHi, slots).fill(Infinity);

  const members = new Int32Array(new SharedArrayBuffer(4 * n));
  members.set(idx.members);
  const norms = new Float64Array(new SharedArrayBuffer(8 * n));
  norms.set(bound.norms);
  const total = Math.max(1, pOff[n]!);
  const data: SymmetricTaskData = {
    memory,
    module,
    layout: L,
    threads: parts,
    members: members.buffer as SharedArrayBuffer,
    classStart: classStart.buffer as SharedArrayBuffer,
    slot: slot.buffer as SharedArrayBuffer,
    pOff: pOff.buffer as SharedArrayBuffer,
    ps: new SharedArrayBuffer(8 * total),
    pp: new SharedArrayBuffer(4 * total),
    ties: new SharedArrayBuffer(16 * TIE_CAP * parts),
    norms: norms.buffer as SharedArrayBuffer,
    rel: bound.rel,
    abs: bound.abs,
    control: new SharedArrayBuffer(4 * (CTRL_TIES + parts)),
  };
  try {
    if (script) await runTasks(script, data, parts);
    else runTask(data);
    if (Atomics.load(new Int32Array(data.control), CTRL_ABORT) !== 0) return null;
    return merge(data, buf, n, pOff);
  } finally {
    spare = memory;
  }
}

/**
 * The wasm memory of the last evaluation, kept for the next: a fresh one's pages are zeroed by
 * the OS on first touch, which cost ~0.5 s of a 60,000-item evaluation here, and memories
 * that are dropped are freed only when the garbage collector gets to them (repeated
 * evaluations held several at once). Null while an evaluation uses it.
 */
let spare: WasmMemory | null = null;

/** A shared wasm memory of at least `bytes`, all zero. */
function takeMemory(bytes: number): WasmMemory {
  const reused = spare;
  spare = null;
  const memory = reused ?? sharedMemory(65536);
  ensureBytes(memory, bytes);
  if (reused) new Uint8Array(memory.buffer, 0, bytes).fill(0);
  return memory;
}

interface LayoutSizes {
  n: number;
  np: number;
  d: number;
  rowLen: number;
  T: number;
  slots: number;
  tableEntries: number;
  parts: number;
  maxClass: number;
}

function layout(z: LayoutSizes): SymmetricLayout & { tables: number } {
  let at = 0;
  const take = (bytes: number) => {
    const here = at;
    at = roundUp(at + bytes, 16);
    return here;
  };
  const rowBytes64 = roundUp(z.d, 2) * 8;
  const common = {
    n: z.n,
    np: z.np,
    d: z.d,
    rowLen: z.rowLen,
    tile: z.T,
    slots: z.slots,
    rowBytes64,
    x32: take(z.np * z.rowLen * 4),
    x64: take(z.np * rowBytes64),
    lo: take(z.np * 4),
    sc: take(z.np * 4),
    ce: take(z.np * 4),
    tb: take(z.np * 4),
    gb: take(z.np * 4),
    tables: take(z.tableEntries * 2),
    thrLo: take(z.slots * 4),
    thrHi: take(z.slots * 4),
  };
  // A tile has at most 2·T² candidates (every pair both ways).
  const candCap = 2 * z.T * z.T;
  const own = {
    cnt: take(z.slots * 4),
    tileBuf: take(z.T * z.T * 4),
    tileT: take(z.T * z.T * 4),
    cand: take(candCap * 8),
    exact: take(candCap * 8),
    classRows: take(z.maxClass * rowBytes64),
  };
  const threadBytes = at - own.cnt;
  return { ...common, ...own, candCap, threadBytes, bytes: own.cnt + z.parts * threadBytes };
}

/**
 * Puts each query's two counts per positive together: items counted in gap g (summed over the
 * threads) are strictly above positives 0..g−1; the positives themselves, from their exact
 * scores: positive k (ascending order, row index descending among equal scores) has the m − a
 * positives of its score or above in atLeast (a: the first of its tie run) and the m − 1 − k
 * after it in ahead; then the ties candidates recorded.
 */
function merge(data: SymmetricTaskData, buf: ArrayBufferLike, n: number, pOff: Int32Array): Float64Array {
  const L = data.layout;
  const parts = data.threads;
  const counts = Array.from({ length: parts }, (_, t) => new Int32Array(buf, L.cnt + t * L.threadBytes, L.slots));
  const slot = new Int32Array(data.slot);
  const ps = new Float64Array(data.ps);
  const tied = tiesByQuery(data);
  const out = new Float64Array(n * SLOTS);
  let atLeast = new Float64Array(0);
  let ahead = new Float64Array(0);
  for (let q = 0; q < n; q++) {
    const p0 = pOff[q]!;
    const m = pOff[q + 1]! - p0;
    const o = q * SLOTS;
    if (m === 0) {
      out.fill(NaN, o, o + SLOTS);
      continue;
    }
    if (atLeast.length < m + 1) {
      atLeast = new Float64Array(m + 1);
      ahead = new Float64Array(m + 1);
    }
    const g0 = slot[q]!;
    let run = 0;
    for (let k = m - 1; k >= 0; k--) {
      for (let t = 0; t < parts; t++) run += counts[t]![g0 + k + 1]!;
      atLeast[k] = run;
      ahead[k] = run + (m - 1 - k);
    }
    for (let a = 0; a < m; ) {
      let c = a + 1;
      while (c < m && ps[p0 + c] === ps[p0 + a]) c++;
      for (let k = a; k < c; k++) atLeast[k]! += m - a;
      a = c;
    }
    const records = tied.get(q);
    if (records) {
      // Difference arrays over the positives, then their prefix sums.
      const ge = new Float64Array(m + 1);
      const ah = new Float64Array(m + 1);
      for (const [a, c, e] of records) {
        ge[a]! += 1;
        ge[c]! -= 1;
        ah[a]! += 1;
        ah[e]! -= 1;
      }
      let g = 0;
      let h = 0;
      for (let k = 0; k < m; k++) {
        g += ge[k]!;
        h += ah[k]!;
        atLeast[k]! += g;
        ahead[k]! += h;
      }
    }
    writeQueryResults(out, o, ps.subarray(p0, p0 + m), atLeast, ahead, m);
  }
  return out;
}

/** The threads' tie records, by query. */
function tiesByQuery(data: SymmetricTaskData): Map<number, [number, number, number][]> {
  const control = new Int32Array(data.control);
  const byQuery = new Map<number, [number, number, number][]>();
  for (let t = 0; t < data.threads; t++) {
    const records = new Int32Array(data.ties, t * TIE_CAP * 16, 4 * TIE_CAP);
    for (let r = 0, count = control[CTRL_TIES + t]!; r < count; r++) {
      const q = records[4 * r]!;
      let list = byQuery.get(q);
      if (!list) byQuery.set(q, (list = []));
      list.push([records[4 * r + 1]!, records[4 * r + 2]!, records[4 * r + 3]!]);
    }
  }
  return byQuery;
}
