import { matmulBlock } from './matmul-blocks.js';

/**
 * Every job the worker pool (pool.ts) can run, by name. A job is split into numbered blocks;
 * the pool hands each block to `run` on whichever thread claims it, with the job's integer
 * parameters and the exports of the pool's kernel modules (by export name). A block must be
 * independent of the others and always give the same result wherever it runs, so a result
 * never depends on the thread count.
 *
 * A new parallel kernel is one function here (and its wasm module passed to the pool): the
 * threads, their start-up and the block hand-out are shared.
 */
export type KernelExports = Record<string, (...args: number[]) => unknown>;
export type BlockRunner = (kernels: KernelExports, params: Int32Array, block: number) => void;

export const JOBS = { 'matmul-blocks': matmulBlock } satisfies Record<string, BlockRunner>;
export type JobName = keyof typeof JOBS;
/** Jobs by number: the control array names the job with an integer. */
export const JOB_NAMES = Object.keys(JOBS) as JobName[];
