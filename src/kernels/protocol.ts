import type { BlockRunner, KernelExports } from './jobs.js';

/**
 * The shared control array between the pool (pool.ts) and its workers (worker.ts): Int32 slots,
 * then the job's parameters, then a 64-bit claim word.
 */
/** Job generation: bumped (and notified) to start a job. */
export const GEN = 0;
/** Blocks of the current job finished so far. */
export const FINISHED = 1;
/** Workers that have started and wait for jobs. */
export const READY = 2;
/** The job's number in JOB_NAMES. */
export const JOB = 3;
/** Blocks in the current job. */
export const BLOCKS = 4;
/** First Int32 slot of the job's parameters, and how many there may be. */
export const PARAMS = 8;
export const MAX_PARAMS = 24;
export const CONTROL_INTS = PARAMS + MAX_PARAMS;
/**
 * The claim word: job generation in the high half, next block in the low half. Claiming with
 * one compare-exchange of both means a thread that wakes late for a job that has moved on can
 * never take a block of the next job with the old job's parameters.
 */
export const CLAIM_BYTE = CONTROL_INTS * 4;
export const CONTROL_BYTES = CLAIM_BYTE + 8;

/**
 * Claims blocks of job `gen` until none are left and counts each finished one in FINISHED.
 * Threads claim blocks as they get to them, so a thread the OS runs late (the cores are shared)
 * only does less of the work instead of holding the job up.
 */
export function claimBlocks(
  run: BlockRunner,
  kernels: KernelExports,
  c: Int32Array,
  params: Int32Array,
  claim: BigUint64Array,
  gen: number,
  blocks: number,
  memory: ArrayBufferLike,
): void {
  const tag = BigInt(gen >>> 0);
  for (;;) {
    const v = Atomics.load(claim, 0);
    if (v >> BigInt(32) !== tag) return;
    const idx = Number(v & BigInt(0xffffffff));
    if (idx >= blocks) return;
    if (Atomics.compareExchange(claim, 0, v, v + BigInt(1)) !== v) continue;
    run(kernels, params, idx, memory);
    if (Atomics.add(c, FINISHED, 1) + 1 === blocks) Atomics.notify(c, FINISHED);
  }
}
