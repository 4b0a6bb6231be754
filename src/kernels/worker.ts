/**
 * A worker thread of the kernel pool (pool.ts), in one of two roles given by its workerData:
 * - kernel worker (KernelPool): instantiates the pool's kernel modules on the shared memory,
 *   then waits for jobs; for each, claims and runs blocks of it (the job's runner from jobs.ts,
 *   by number) until none are left;
 * - task worker (runTasks): imports a task module, runs its `runTask(data)` once, reports "done".
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JOB_NAMES, JOBS } from './jobs.js';
import { instantiateKernels } from './memory.js';
import type { WasmMemory } from './wasm-asm.js';
import { BLOCKS, claimBlocks, CLAIM_BYTE, CONTROL_INTS, GEN, JOB, MAX_PARAMS, PARAMS, READY } from './protocol.js';

export interface WorkerData {
  /** Compiled kernel modules by name, each importing env.mem. */
  modules: Record<string, object>;
  /** The shared wasm memory they work on. */
  memory: object;
  /** The control array (protocol.ts). */
  control: SharedArrayBuffer;
}

/** A task worker's workerData: the task module (a file: URL) and what its runTask gets. */
export interface TaskWorkerData {
  task: string;
  data: unknown;
}

const data = workerData as (WorkerData & { task?: undefined }) | TaskWorkerData | null;
// Only a thread started by the pool has workerData; importing this file elsewhere does nothing.
if (data && data.task !== undefined) {
  const mod = (await import(data.task)) as { runTask: (d: unknown) => unknown };
  await mod.runTask(data.data);
  parentPort?.postMessage('done');
} else if (data && data.control) {
  const kernels = instantiateKernels(data.modules, data.memory);
  const memory = data.memory as WasmMemory;
  const c = new Int32Array(data.control, 0, CONTROL_INTS);
  const params = new Int32Array(data.control, PARAMS * 4, MAX_PARAMS);
  const claim = new BigUint64Array(data.control, CLAIM_BYTE, 1);
  let seen = Atomics.load(c, GEN);
  Atomics.add(c, READY, 1);
  Atomics.notify(c, READY);
  for (;;) {
    Atomics.wait(c, GEN, seen);
    seen = Atomics.load(c, GEN);
    const run = JOBS[JOB_NAMES[Atomics.load(c, JOB)]!];
    // Read per job: a shared memory's buffer object is replaced when it grows.
    claimBlocks(run, kernels, c, params, claim, seen, Atomics.load(c, BLOCKS), memory.buffer);
  }
}
