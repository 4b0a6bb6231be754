import type { KernelExports } from './jobs.js';

/**
 * The parameters of a 'matmul-blocks' job (losses/kernels/matmul.ts), in the order they are
 * passed to the pool. C = A·Bᵀ over packed panels: a block is a range of `jpBlock` panels of B,
 * computed against every panel of A over all k blocks in order (the first stores, the rest add).
 */
export const MATMUL_PARAMS = ['aOff', 'bOff', 'cOff', 'ldc', 'nIp', 'nJp', 'jpBlock', 'kp', 'symmetric', 'kBlock', 'mr', 'nr', 'elemBytes'] as const;

/** Blocks of a 'matmul-blocks' job. */
export function matmulBlockCount(nJp: number, jpBlock: number): number {
  return Math.ceil(nJp / jpBlock);
}

/**
 * Runs block `idx` of a matmul job. Blocks go largest first (a symmetric product's blocks grow
 * with jp) so that the last ones claimed are small. elemBytes 8 runs the float64 tile function
 * `tile`, 4 the float32 one `tile32`.
 */
export function matmulBlock(kernels: KernelExports, c: Int32Array, idx: number): void {
  const aOff = c[0]!;
  const bOff = c[1]!;
  const cOff = c[2]!;
  const ldc = c[3]!;
  const nIp = c[4]!;
  const nJp = c[5]!;
  const jpBlock = c[6]!;
  const kp = c[7]!;
  const sym = c[8]!;
  const kBlock = c[9]!;
  const mr = c[10]!;
  const nr = c[11]!;
  const eb = c[12]!;
  const tile = eb === 4 ? kernels.tile32! : kernels.tile!;
  const b = matmulBlockCount(nJp, jpBlock) - 1 - idx;
  const jp0 = b * jpBlock;
  const jp1 = Math.min(nJp, jp0 + jpBlock);
  // Symmetric: tiles below the diagonal are filled later by mirroring.
  const ip1 = sym ? Math.min(nIp, Math.ceil((jp1 * nr) / mr)) : nIp;
  for (let t0 = 0; t0 < kp; t0 += kBlock) {
    const t1 = Math.min(kp, t0 + kBlock);
    tile(aOff, bOff, cOff, ldc, 0, ip1, jp0, jp1, t0 * mr * eb, t1 * mr * eb, t0 * nr * eb, mr * kp * eb, nr * kp * eb, t0 > 0 ? 1 : 0);
  }
}
