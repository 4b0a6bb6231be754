import { matmulBlock } from './matmul-blocks.js';
import { packGramBlock } from './pack-jobs.js';
import { fastApPackBlock, fastApRowsBlock } from '../losses/kernels/fast-ap-rows.js';

/**
 * Every job the worker pool (pool.ts) can run, by name. A job is split into numbered blocks;
 * the pool hands each block to `run` on whichever thread claims it, with the job's integer
 * parameters and the exports of the pool's kernel modules (by export name). A block must be
 * independent of the others and always give the same result wherever it runs, so a result
 * never depends on the thread count. A block may also read and write the shared memory itself
 * through `memory` (the buffer as the job sees it: the memory only grows between jobs), for the
 * work around the products that is plain JS (a loss's per-query pass, the operands' packing).
 *
 * A new parallel kernel is one function here (and its wasm module passed to the pool): the
 * threads, their start-up and the block hand-out are shared.
 */
export type KernelExports = Record<string, (...args: number[]) => unknown>;
export type BlockRunner = (kernels: KernelExports, params: Int32Array, block: number, memory: ArrayBufferLike) => void;

export const JOBS = {
  'matmul-blocks': matmulBlock,
  'pack-gram-operands': packGramBlock,
  'fast-ap-rows': fastApRowsBlock,
  'fast-ap-pack': fastApPackBlock,
} satisfies Record<string, BlockRunner>;
export type JobName = keyof typeof JOBS;
/** Jobs by number: the control array names the job with an integer. */
export const JOB_NAMES = Object.keys(JOBS) as JobName[];
