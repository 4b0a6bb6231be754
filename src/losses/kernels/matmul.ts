import { wasmApi, type WasmMemory } from '../../kernels/wasm-asm.js';
import { F32X4, F64X2 } from '../../kernels/simd.js';
import { MR, NR, tileModule } from '../../kernels/tile.js';
import { ensureBytes, instantiateKernels, roundUp, sharedMemory } from '../../kernels/memory.js';
import { matmulBlockCount } from '../../kernels/matmul-blocks.js';
import { KernelPool, threadCount } from '../../kernels/pool.js';
import type { KernelExports } from '../../kernels/jobs.js';
import { packModule, packPanels, packRows32, packTransposed32, type PackFns } from '../../kernels/pack.js';
import { fastApModule } from './fast-ap-wasm.js';

/**
 * C = A·Bᵀ in float64 (A m×k, B n×k, both row-major). The similarity matrix S = X·Xᵀ and the
 * gradient (G+Gᵀ)·X dominate every loss kernel (B²·D multiply-adds against B²·P for the rest),
 * so this is the one place worth a register-tiled SIMD kernel.
 *
 * Layout: A is packed into panels of MR rows and B into panels of NR rows, each panel stored
 * k-pair-major ((t>>1)·rows + r)·2 + (t&1), so the inner loop reads consecutive 16-byte f64x2
 * vectors at constant offsets. The wasm function (kernels/tile.ts) walks MR×NR output tiles
 * over a range of panels and a range of k; simdProduct blocks over B panels and k so that a
 * block of B stays in L2 while every A panel streams past it, and splits the blocks over
 * worker threads for large products (kernels/pool.ts, the job in kernels/matmul-blocks.ts).
 * float64 is exact enough for the parity tests and `bench loss`; float32 (MatmulOptions.float32),
 * for training, does twice the multiply-adds per instruction. k is padded to a multiple of the
 * lane count (one vector per step; unrolling measured slower). Measured here: ~5 GFMA/s per core, against ~1 for the
 * best plain-JS loop.
 */

/** Rows of B per cache block, and k per block: the best of a sweep over 16..128 × 128..512 at D=512. */
const J_BLOCK = 32;
const K_BLOCK = 256;

/** Memory limit of the shared wasm memory: 4 GiB, enough for B ≈ 16,000 at D = 512. */
const MAX_PAGES = 65536;
/** Multiply-adds below which a product stays on one thread (hand-off costs ~0.1 ms). */
const PARALLEL_MIN_FMA = 4_000_000;

interface Engine {
  mem: WasmMemory;
  pack: PackFns;
  /** The compiled modules by name (the worker threads instantiate them too). */
  modules: Record<string, object>;
  /** This thread's exports of them: `tile`, `tile32`, and the packing moves. */
  kernels: KernelExports;
  /** Runs products on this thread only. */
  single: KernelPool;
  /** Worker threads, started on the first product big enough to share; null until then. */
  pool: KernelPool | null;
}

let engine: Engine | null | undefined;

function getEngine(): Engine | null {
  if (engine !== undefined) return engine;
  const wasm = wasmApi();
  const bytes = tileModule(MAX_PAGES);
  const packBytes = packModule(MAX_PAGES);
  const fastApBytes = fastApModule(MAX_PAGES);
  if (!wasm || !wasm.validate(bytes) || !wasm.validate(packBytes) || !wasm.validate(fastApBytes)) {
    engine = null;
    return engine;
  }
  try {
    // FastAP's histogram loop rides along: its float32 path runs as pool jobs on this memory.
    const modules = { tiles: new wasm.Module(bytes), pack: new wasm.Module(packBytes), fastAp: new wasm.Module(fastApBytes) };
    const mem = sharedMemory(MAX_PAGES);
    const kernels = instantiateKernels(modules, mem);
    const pack = kernels as unknown as PackFns;
    engine = { mem, pack, modules, kernels, single: new KernelPool(kernels, modules, mem, 1), pool: null };
  } catch {
    // No shared memory on this runtime: the plain-JS path still gives exact results.
    engine = null;
  }
  return engine;
}

/** Whether the SIMD kernel is in use (false only on runtimes without wasm SIMD). */
export function simdMatmulAvailable(): boolean {
  return getEngine() !== null;
}

/** Threads a large product runs on right now (1 until the worker threads have started). */
export function matmulParallelism(): number {
  return getEngine()?.pool?.parts ?? 1;
}

export interface MatmulOptions {
  /** `b` holds Bᵀ: a k×n row-major matrix (used for (G+Gᵀ)·X without transposing X). */
  bTransposed?: boolean;
  /** A and B are the same matrix, so C is symmetric: only tiles on or above the diagonal are computed. */
  symmetric?: boolean;
  /**
   * Round the operands to float32 and multiply-add in float32 (relative error ~1e-7 per entry
   * instead of ~1e-16): about twice as fast. For training; `out` is still float64.
   */
  float32?: boolean;
  /** Force the plain-JS path (for tests and for comparison). */
  noSimd?: boolean;
}

/** C (m×n, row-major, written into `out`) = A·Bᵀ. */
export function matmulABt(
  a: Float64Array,
  m: number,
  b: Float64Array,
  n: number,
  k: number,
  out: Float64Array = new Float64Array(m * n),
  opts: MatmulOptions = {},
): Float64Array {
  if (m === 0 || n === 0) return out;
  if (k === 0) return out.fill(0, 0, m * n);
  const eng = opts.noSimd ? null : getEngine();
  if (eng) simdProduct(eng, a, m, b, n, k, out, opts);
  else jsProduct(a, m, b, n, k, out, opts);
  if (opts.symmetric) mirrorUpper(out, n);
  return out;
}

function simdProduct(eng: Engine, a: Float64Array, m: number, b: Float64Array, n: number, k: number, out: Float64Array, opts: MatmulOptions): void {
  const el = opts.float32 ? F32X4 : F64X2;
  const eb = el.bytes;
  const kp = roundUp(k, el.lanes);
  const mp = roundUp(m, MR);
  const np = roundUp(n, NR);
  const aBytes = mp * kp * eb;
  const bBytes = np * kp * eb;
  const cOff = aBytes + bBytes;
  // float64 operands are copied as they are into a staging area after C, then packed from there
  // by the wasm moves; float32 ones are packed straight from the operands.
  const stageByte = roundUp(cOff + mp * np * eb, 16);
  const end = eb === 8 ? stageByte + Math.max(m, n) * k * eb : stageByte;
  const buf = ensureBytes(eng.mem, end);
  if (eb === 8) {
    const f = new Float64Array(buf, 0, end / 8);
    const stage = stageByte / 8;
    f.set(a.subarray(0, m * k), stage);
    packPanels(eng.pack, f, 0, stage, m, k, kp, MR, false);
    // S = X·Xᵀ passes X twice: the staging copy already holds it.
    if (b !== a || n > m) f.set(b.subarray(0, n * k), stage);
    packPanels(eng.pack, f, aBytes / 8, stage, n, k, kp, NR, opts.bTransposed ?? false);
  } else {
    // float32 panels are written straight from the float64 operands (no staging copy).
    const f = new Float32Array(buf, 0, end / 4);
    packRows32(f, 0, a, m, k, kp, MR);
    if (opts.bTransposed) packTransposed32(f, aBytes / 4, b, n, k, kp, NR);
    else packRows32(f, aBytes / 4, b, n, k, kp, NR);
  }

  const product = { aOff: 0, bOff: aBytes, cOff, m, n, kp, symmetric: opts.symmetric ?? false, float32: eb === 4 };
  runPackedProduct(runnerFor(eng, m * n * k), product);
  const c = eb === 8 ? new Float64Array(buf, cOff, mp * np) : new Float32Array(buf, cOff, mp * np);
  if (np === n) out.set(c.subarray(0, m * n));
  else for (let i = 0; i < m; i++) out.set(c.subarray(i * np, i * np + n), i * n);
}

/** The runner for a job of `fma` multiply-adds' size: the worker pool (started now if need be) or this thread alone. */
function runnerFor(eng: Engine, fma: number): KernelPool {
  if (fma < PARALLEL_MIN_FMA) return eng.single;
  if (!eng.pool) {
    try {
      eng.pool = new KernelPool(eng.kernels, eng.modules, eng.mem, threadCount());
    } catch {
      eng.pool = eng.single;
    }
  }
  return eng.pool;
}

/**
 * C = A·Bᵀ on operands already packed in the shared memory (byte offsets of A's MR-row panels,
 * B's NR-row panels and C, whose rows are roundUp(n, NR) wide; kp: the padded k). A symmetric
 * product computes only the tiles on or above the diagonal.
 */
export interface PackedProduct {
  aOff: number;
  bOff: number;
  cOff: number;
  m: number;
  n: number;
  kp: number;
  symmetric: boolean;
  float32: boolean;
}

export function runPackedProduct(runner: KernelPool, p: PackedProduct): void {
  const eb = p.float32 ? 4 : 8;
  const nJp = roundUp(p.n, NR) / NR;
  const parts = runner.parts;
  // Enough blocks of B panels for every thread to get several (the split is by block).
  const jpBlock = Math.max(1, Math.min(J_BLOCK / NR, Math.floor(nJp / (4 * parts))));
  // The parameters in the order of MATMUL_PARAMS.
  const params = [p.aOff, p.bOff, p.cOff, nJp * NR * eb, roundUp(p.m, MR) / MR, nJp, jpBlock, p.kp, p.symmetric ? 1 : 0, K_BLOCK, MR, NR, eb];
  runner.run('matmul-blocks', params, matmulBlockCount(nJp, jpBlock), parts);
}

/**
 * The loss products' engine for a kernel that runs several jobs on the shared memory (a
 * product, its own pass over the result, the next product) without copying between them:
 * the memory, and the runner for a job of a given size in multiply-adds. Null without wasm SIMD
 * or shared memory.
 */
export interface LossEngine {
  mem: WasmMemory;
  runner(fma: number): KernelPool;
}

export function lossEngine(): LossEngine | null {
  const eng = getEngine();
  return eng && { mem: eng.mem, runner: (fma) => runnerFor(eng, fma) };
}

/** Plain-JS fallback: 2×2 register tiles over (optionally transposed) B. */
function jsProduct(a: Float64Array, m: number, b: Float64Array, n: number, k: number, out: Float64Array, opts: MatmulOptions): void {
  let rowsB = b;
  if (opts.bTransposed) {
    rowsB = new Float64Array(n * k);
    for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) rowsB[j * k + t] = b[t * n + j]!;
  }
  for (let i = 0; i < m; i += 2) {
    const i1 = Math.min(i + 1, m - 1);
    const a0 = i * k;
    const a1 = i1 * k;
    for (let j = opts.symmetric ? i - (i % 2) : 0; j < n; j += 2) {
      const j1 = Math.min(j + 1, n - 1);
      const b0 = j * k;
      const b1 = j1 * k;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let t = 0; t < k; t++) {
        const x0 = a[a0 + t]!;
        const x1 = a[a1 + t]!;
        const y0 = rowsB[b0 + t]!;
        const y1 = rowsB[b1 + t]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      out[i * n + j] = s00;
      out[i * n + j1] = j1 > j ? s01 : s00;
      out[i1 * n + j] = i1 > i ? s10 : s00;
      if (i1 > i && j1 > j) out[i1 * n + j1] = s11;
    }
  }
}

/** Copies the upper triangle onto the lower one. */
function mirrorUpper(c: Float64Array, n: number): void {
  const T = 32;
  for (let ib = 0; ib < n; ib += T) {
    for (let jb = 0; jb <= ib; jb += T) {
      const iEnd = Math.min(n, ib + T);
      for (let i = ib; i < iEnd; i++) {
        const jEnd = Math.min(i, jb + T);
        for (let j = jb; j < jEnd; j++) c[i * n + j] = c[j * n + i]!;
      }
    }
  }
}
