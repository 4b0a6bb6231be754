import { MR, NR } from './tile.js';
import { packRowsShared, packTransposedShared, type PackFns } from './pack.js';
import type { KernelExports } from './jobs.js';
import { viewsPerJob } from './views.js';

/**
 * Packing as pool jobs (kernels/jobs.ts), for a kernel that keeps its operands in the shared
 * memory from one product to the next: each block packs a range of rows, so every thread packs.
 * Offsets are bytes into the shared memory; the layouts are pack.ts's float32 ones.
 */

/**
 * 'pack-gram-operands': an n×d float64 matrix X (at xOff) into the operands of S = X·Xᵀ (A: MR-row
 * panels at aOff, B: NR-row panels at bOff, k padded to kp) and into Xᵀ's NR-row panels at tOff
 * (k = n padded to kpT) for a later product (·)·X. A block is `perBlock` rows of X, a multiple of
 * 4 so that it holds whole panels of A and B and whole quads of t of Xᵀ.
 */
export const PACK_GRAM_PARAMS = ['xOff', 'n', 'd', 'aOff', 'bOff', 'tOff', 'kp', 'kpT', 'perBlock'] as const;

const gramViews = viewsPerJob((memory) => ({ x: new Float64Array(memory), f: new Float32Array(memory) }));

export function packGramBlock(kernels: KernelExports, p: Int32Array, idx: number, memory: ArrayBufferLike): void {
  const fns = kernels as unknown as PackFns;
  const n = p[1]!;
  const d = p[2]!;
  const kp = p[6]!;
  const { x, f } = gramViews(memory, p);
  const r0 = idx * p[8]!;
  const r1 = Math.min(n, r0 + p[8]!);
  const src = p[0]! / 8 + r0 * d;
  packRowsShared(fns, f, p[3]! / 4 + r0 * kp, x, src, r1 - r0, d, kp, MR);
  packRowsShared(fns, f, p[4]! / 4 + r0 * kp, x, src, r1 - r0, d, kp, NR);
  packTransposedShared(fns, f, p[5]! / 4, x, p[0]! / 8, d, n, p[7]!, NR, r0 >> 2, r1 === n ? p[7]! >> 2 : r1 >> 2);
}
