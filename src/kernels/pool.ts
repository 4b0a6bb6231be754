import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { JOB_NAMES, JOBS, type JobName, type KernelExports } from './jobs.js';
import { BLOCKS, claimBlocks, CLAIM_BYTE, CONTROL_BYTES, CONTROL_INTS, FINISHED, GEN, JOB, PARAMS, MAX_PARAMS, READY } from './protocol.js';
import type { TaskWorkerData, WorkerData } from './worker.js';
import type { WasmMemory } from './wasm-asm.js';

/**
 * Worker threads for the wasm kernels: every thread (this one included) instantiates the same
 * kernel modules, by name, on one shared memory (memory.ts), so a job uses every core while the
 * kernels stay synchronous: the caller describes a job (a name from jobs.ts, its integer
 * parameters, its block count) in a shared control array, claims blocks itself, and blocks in
 * Atomics.wait until the workers have finished theirs. Workers are unref'd (they never keep the
 * process alive) and idle in Atomics.wait between jobs. The worker is the module worker.ts.
 *
 * RANKBENCH_THREADS=N caps the threads used (N = 1: no workers).
 */

/** Give up on a worker that has not finished a claimed block in this long (it crashed or hangs). */
const WORKER_TIMEOUT_MS = 60_000;

/**
 * The compiled worker module. Beside this file when running from dist/; when running from the
 * TypeScript sources (vitest), a worker thread cannot load .ts, so the compiled copy in dist/ is
 * used if the project has been built, else there are no workers (jobs run on this thread).
 */
export function workerScript(): URL | null {
  const here = new URL('./worker.js', import.meta.url);
  if (here.protocol !== 'file:') return null;
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL('../../dist/kernels/worker.js', import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : null;
}

export class KernelPool {
  private readonly buffer = new SharedArrayBuffer(CONTROL_BYTES);
  private readonly control = new Int32Array(this.buffer, 0, CONTROL_INTS);
  private readonly params = new Int32Array(this.buffer, PARAMS * 4, MAX_PARAMS);
  private readonly claim = new BigUint64Array(this.buffer, CLAIM_BYTE, 1);
  private workers: Worker[] = [];
  private broken = false;

  /**
   * `kernels`: this thread's instances of `modules` (the exports by name); `threads` − 1 workers
   * instantiate `modules` on `memory` themselves.
   */
  constructor(
    private readonly kernels: KernelExports,
    modules: Record<string, object>,
    private readonly memory: WasmMemory,
    threads: number,
  ) {
    const script = threads > 1 ? workerScript() : null;
    if (!script) return;
    const workerData: WorkerData = { modules, memory, control: this.buffer };
    for (let part = 1; part < threads; part++) {
      const w = new Worker(script, { workerData });
      w.unref();
      w.on('error', () => this.stop());
      this.workers.push(w);
    }
  }

  /** Threads a job would use now: the workers only once all have started. */
  get parts(): number {
    if (this.broken || this.workers.length === 0) return 1;
    return Atomics.load(this.control, READY) === this.workers.length ? this.workers.length + 1 : 1;
  }

  /** Runs `blocks` blocks of job `name` to completion; with parts > 1 the workers claim blocks too. */
  run(name: JobName, params: readonly number[], blocks: number, parts: number): void {
    const c = this.control;
    const runner = JOBS[name];
    const gen = (Atomics.load(c, GEN) + 1) | 0;
    // The claim word moves to the new generation first: a worker still on an older job can then
    // claim nothing while the parameters below change under it.
    Atomics.store(this.claim, 0, BigInt(gen >>> 0) << BigInt(32));
    Atomics.store(c, FINISHED, 0);
    params.forEach((v, i) => Atomics.store(this.params, i, v));
    Atomics.store(c, JOB, JOB_NAMES.indexOf(name));
    Atomics.store(c, BLOCKS, blocks);
    Atomics.store(c, GEN, gen);
    if (parts > 1) Atomics.notify(c, GEN);
    const memory = this.memory.buffer;
    claimBlocks(runner, this.kernels, c, this.params, this.claim, gen, blocks, memory);
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (let done = Atomics.load(c, FINISHED); done < blocks; done = Atomics.load(c, FINISHED)) {
      Atomics.wait(c, FINISHED, done, 1000);
      if (Date.now() > deadline) {
        // A worker died or hung inside a block: stop using threads and redo the whole job here
        // (blocks are independent and recomputing one is exact). The redo claims from a private
        // word, which a stray worker cannot see.
        this.stop();
        const own = new BigUint64Array(new SharedArrayBuffer(8));
        own[0] = BigInt(gen >>> 0) << BigInt(32);
        claimBlocks(runner, this.kernels, c, this.params, own, gen, blocks, memory);
        return;
      }
    }
  }

  private stop(): void {
    this.broken = true;
    for (const w of this.workers) void w.terminate();
    this.workers = [];
  }
}

/**
 * Runs a task on `threads` new worker threads at once and resolves when every one has finished
 * (they are then ended): each imports the module `task` (compiled JS, a file: URL) and calls its
 * `runTask(data)`. For work that is more than one kernel, such as the retrieval evaluation's
 * query blocks: the task shares out the work itself (e.g. through a counter in `data`).
 * `data` is passed as workerData (SharedArrayBuffers in it are shared, not copied).
 * Call only when workerScript() is not null.
 */
export async function runTasks(task: URL, data: unknown, threads: number): Promise<void> {
  const script = workerScript();
  if (!script) throw new Error('runTasks: no compiled worker module (build the project)');
  const workerData: TaskWorkerData = { task: task.href, data };
  const workers = Array.from({ length: threads }, () => new Worker(script, { workerData }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let done = false;
            w.on('message', (m) => {
              if (m !== 'done') return;
              done = true;
              resolve();
            });
            w.on('error', reject);
            w.on('exit', (code) => {
              if (!done) reject(new Error(`worker for ${task.pathname} exited with code ${code} before finishing`));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Threads to use: RANKBENCH_THREADS if set, else the machine's cores (at most 8). */
export function threadCount(): number {
  const env = Number(process.env.RANKBENCH_THREADS);
  const want = Number.isInteger(env) && env >= 1 ? env : availableParallelism();
  return Math.max(1, Math.min(8, want));
}
