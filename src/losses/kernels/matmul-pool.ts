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

/** Control array slots (Int32). FINISHED counts completed blocks of the current job. */
const GEN = 0;
const FINISHED = 1;
const READY = 2;
const JOB = 8;
const CONTROL_INTS = 24;
/**
 * A 64-bit claim word after the Int32 slots: job generation in the high half, next block in the
 * low half. Claiming with one compare-exchange of both means a thread that wakes late for a job
 * that has moved on can never take a block of the next job with the old job's parameters.
 */
const CLAIM_BYTE = CONTROL_INTS * 4;
/** Give up on a worker that has not finished a claimed block in this long (it crashed or hangs). */
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
  /** Bytes per element: 8 runs the float64 tile function, 4 the float32 one. */
  elemBytes: number;
}

/**
 * Claims blocks of B panels of job `gen` until none are left, each over all k blocks in order (the
 * first stores, the rest add), and counts each finished block in FINISHED. Threads claim blocks as
 * they get to them, so a thread the OS runs late (the cores are shared) only does less of the
 * work instead of holding the product up; blocks go largest first (a symmetric product's blocks
 * grow with jp) so the last ones are small. Self-contained: its source is also what the workers run.
 */
function runShare(tiles: TileFn[], c: Int32Array, claim: BigUint64Array, gen: number): void {
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
  const eb = c[19]!;
  // tiles[0] is the float64 function, tiles[1] the float32 one.
  const tile = tiles[eb === 4 ? 1 : 0]!;
  const blocks = Math.ceil(nJp / jpBlock);
  const tag = BigInt(gen >>> 0);
  for (;;) {
    const v = Atomics.load(claim, 0);
    if (v >> BigInt(32) !== tag) return;
    const idx = Number(v & BigInt(0xffffffff));
    if (idx >= blocks) return;
    if (Atomics.compareExchange(claim, 0, v, v + BigInt(1)) !== v) continue;
    const b = blocks - 1 - idx;
    const jp0 = b * jpBlock;
    const jp1 = Math.min(nJp, jp0 + jpBlock);
    // Symmetric: tiles below the diagonal are filled later by mirroring.
    const ip1 = sym ? Math.min(nIp, Math.ceil((jp1 * nr) / mr)) : nIp;
    for (let t0 = 0; t0 < kp; t0 += kBlock) {
      const t1 = Math.min(kp, t0 + kBlock);
      tile(0, bOff, cOff, ldc, 0, ip1, jp0, jp1, t0 * mr * eb, t1 * mr * eb, t0 * nr * eb, mr * kp * eb, nr * kp * eb, t0 > 0 ? 1 : 0);
    }
    // Slot 1 is FINISHED (the workers' copy of this function cannot see the module's constants).
    if (Atomics.add(c, 1, 1) + 1 === blocks) Atomics.notify(c, 1);
  }
}

const workerSource = (runShareSource: string): string => `
const { workerData } = require('node:worker_threads');
const { module, memory, control } = workerData;
const ex = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
const tiles = [ex.tile, ex.tile32];
const c = new Int32Array(control, 0, ${CONTROL_INTS});
const claim = new BigUint64Array(control, ${CLAIM_BYTE}, 1);
const runShare = ${runShareSource};
let seen = Atomics.load(c, ${GEN});
Atomics.add(c, ${READY}, 1);
Atomics.notify(c, ${READY});
for (;;) {
  Atomics.wait(c, ${GEN}, seen);
  seen = Atomics.load(c, ${GEN});
  runShare(tiles, c, claim, seen);
}
`;

export class TilePool {
  private readonly buffer = new SharedArrayBuffer(CLAIM_BYTE + 8);
  private readonly control = new Int32Array(this.buffer, 0, CONTROL_INTS);
  private readonly claim = new BigUint64Array(this.buffer, CLAIM_BYTE, 1);
  private workers: Worker[] = [];
  private broken = false;

  constructor(
    /** The float64 and float32 tile functions, in that order. */
    private readonly tiles: TileFn[],
    module: object,
    memory: object,
    threads: number,
  ) {
    const source = workerSource(runShare.toString());
    for (let part = 1; part < threads; part++) {
      const w = new Worker(source, { eval: true, workerData: { module, memory, control: this.buffer } });
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

  /** Runs a job to completion; with parts > 1 the workers are woken to claim blocks too. */
  run(job: Job, parts: number): void {
    const c = this.control;
    const vals = [job.bOff, job.cOff, job.ldc, job.nIp, job.nJp, job.jpBlock, job.kp, job.symmetric ? 1 : 0, job.kBlock, job.mr, job.nr, job.elemBytes];
    vals.forEach((v, i) => Atomics.store(c, JOB + i, v));
    const gen = (Atomics.load(c, GEN) + 1) | 0;
    Atomics.store(c, FINISHED, 0);
    Atomics.store(this.claim, 0, BigInt(gen >>> 0) << BigInt(32));
    Atomics.store(c, GEN, gen);
    if (parts > 1) Atomics.notify(c, GEN);
    runShare(this.tiles, c, this.claim, gen);
    const blocks = Math.ceil(job.nJp / job.jpBlock);
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (let done = Atomics.load(c, FINISHED); done < blocks; done = Atomics.load(c, FINISHED)) {
      Atomics.wait(c, FINISHED, done, 1000);
      if (Date.now() > deadline) {
        // A worker died or hung inside a block: stop using threads and redo the whole job here
        // (each block's first k block stores, so recomputing every block is exact).
        // The redo claims from a private word, which a stray worker cannot see.
        this.stop();
        const own = new BigUint64Array(new SharedArrayBuffer(8));
        own[0] = BigInt(gen >>> 0) << BigInt(32);
        runShare(this.tiles, c, own, gen);
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
