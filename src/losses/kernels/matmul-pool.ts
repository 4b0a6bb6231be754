import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

/**
 * Worker threads that run the wasm tile function on the same shared memory, so a product uses
 * every core while the kernels stay synchronous: the caller posts a job in a shared control
 * array, does its own part, and blocks in Atomics.wait until the workers report. Workers are
 * unref'd (they never keep the process alive) and idle in Atomics.wait between jobs.
 *
 * RANKBENCH_THREADS=N caps the threads used (N = 1: no workers).
 */

export type TileFn = (...args: number[]) => void;

/** Control array slots. */
const GEN = 0;
const DONE = 1;
const READY = 2;
const JOB = 8;
const CONTROL_INTS = 24;
/** Give up on a worker that has not finished its part in this long (it crashed or hangs). */
const WORKER_TIMEOUT_MS = 60_000;

export interface Job {
  bOff: number;
  cOff: number;
  ldc: number;
  nIp: number;
  nJp: number;
  jpBlock: number;
  kp: number;
  symmetric: boolean;
  kBlock: number;
  mr: number;
  nr: number;
}

/**
 * One thread's share of a product: every parts-th block of B panels (interleaved, so the
 * triangular work of a symmetric product is split evenly), over all k blocks in order (the first
 * stores, the rest add). Self-contained: its source is also what the workers run.
 */
function runPart(tile: TileFn, c: Int32Array, part: number, parts: number): void {
  const bOff = c[8]!;
  const cOff = c[9]!;
  const ldc = c[10]!;
  const nIp = c[11]!;
  const nJp = c[12]!;
  const jpBlock = c[13]!;
  const kp = c[14]!;
  const sym = c[15]!;
  const kBlock = c[16]!;
  const mr = c[17]!;
  const nr = c[18]!;
  for (let t0 = 0; t0 < kp; t0 += kBlock) {
    const t1 = Math.min(kp, t0 + kBlock);
    for (let b = part; b * jpBlock < nJp; b += parts) {
      const jp0 = b * jpBlock;
      const jp1 = Math.min(nJp, jp0 + jpBlock);
      // Symmetric: tiles below the diagonal are filled later by mirroring.
      const ip1 = sym ? Math.min(nIp, Math.ceil((jp1 * nr) / mr)) : nIp;
      tile(0, bOff, cOff, ldc, 0, ip1, jp0, jp1, t0 * mr * 8, t1 * mr * 8, t0 * nr * 8, mr * kp * 8, nr * kp * 8, t0 > 0 ? 1 : 0);
    }
  }
}

const workerSource = (runPartSource: string): string => `
const { workerData } = require('node:worker_threads');
const { module, memory, control, part, parts } = workerData;
const tile = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.tile;
const c = new Int32Array(control);
const runPart = ${runPartSource};
let seen = Atomics.load(c, ${GEN});
Atomics.add(c, ${READY}, 1);
Atomics.notify(c, ${READY});
for (;;) {
  Atomics.wait(c, ${GEN}, seen);
  seen = Atomics.load(c, ${GEN});
  runPart(tile, c, part, parts);
  Atomics.add(c, ${DONE}, 1);
  Atomics.notify(c, ${DONE});
}
`;

export class TilePool {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
  private workers: Worker[] = [];
  private broken = false;

  constructor(
    private readonly tile: TileFn,
    module: object,
    memory: object,
    threads: number,
  ) {
    const parts = threads;
    const source = workerSource(runPart.toString());
    for (let part = 1; part < parts; part++) {
      const w = new Worker(source, { eval: true, workerData: { module, memory, control: this.control.buffer, part, parts } });
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

  run(job: Job, parts: number): void {
    const c = this.control;
    const vals = [job.bOff, job.cOff, job.ldc, job.nIp, job.nJp, job.jpBlock, job.kp, job.symmetric ? 1 : 0, job.kBlock, job.mr, job.nr];
    vals.forEach((v, i) => Atomics.store(c, JOB + i, v));
    if (parts === 1) {
      runPart(this.tile, c, 0, 1);
      return;
    }
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    runPart(this.tile, c, 0, parts);
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (let done = Atomics.load(c, DONE); done < parts - 1; done = Atomics.load(c, DONE)) {
      Atomics.wait(c, DONE, done, 1000);
      if (Date.now() > deadline) {
        // A worker died or hung: finish its share here and stop using threads.
        this.stop();
        for (let part = 1; part < parts; part++) runPart(this.tile, c, part, parts);
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

/** Threads to use: RANKBENCH_THREADS if set, else the machine's cores (at most 8). */
export function threadCount(): number {
  const env = Number(process.env.RANKBENCH_THREADS);
  const want = Number.isInteger(env) && env >= 1 ? env : availableParallelism();
  return Math.max(1, Math.min(8, want));
}
