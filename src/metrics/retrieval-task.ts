/**
 * The exact retrieval evaluation's task for the kernel pool's worker threads (kernels/pool.ts
 * runTasks): evaluates query blocks taken from a shared counter until none is left (dynamic
 * hand-out balances the threads).
 */
import { evaluateBlocks } from './retrieval-core.js';

export interface RetrievalTaskData {
  /** Gallery rows (float64). */
  x: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  /** Query rows when they are not the gallery rows. */
  queries?: { x: SharedArrayBuffer; labels: SharedArrayBuffer; n: number };
  self: boolean;
  out: SharedArrayBuffer;
  counter: SharedArrayBuffer;
  n: number;
  d: number;
  blockSize: number;
  useWasm?: boolean;
  precision?: 'auto' | 'f32' | 'f64';
}

export function runTask(data: RetrievalTaskData): void {
  const counter = new Int32Array(data.counter);
  const q = data.queries;
  evaluateBlocks(
    {
      x: new Float64Array(data.x),
      n: data.n,
      d: data.d,
      labels: new Int32Array(data.labels),
      ...(q ? { queries: { x: new Float64Array(q.x), labels: new Int32Array(q.labels), n: q.n } } : {}),
      self: data.self,
      blockSize: data.blockSize,
      out: new Float64Array(data.out),
      useWasm: data.useWasm,
      precision: data.precision,
    },
    () => Atomics.add(counter, 0, data.blockSize),
  );
}
