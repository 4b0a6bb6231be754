/**
 * Worker entry for the exact retrieval evaluation: evaluates query blocks taken from a shared
 * counter until none is left (dynamic hand-out balances the threads), then reports "done".
 */
import { parentPort, workerData } from 'node:worker_threads';
import { evaluateBlocks } from './retrieval-core.js';

export interface RetrievalWorkerData {
  x: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  out: SharedArrayBuffer;
  counter: SharedArrayBuffer;
  n: number;
  d: number;
  blockSize: number;
  useWasm?: boolean;
  precision?: 'auto' | 'f32' | 'f64';
}

const data = workerData as RetrievalWorkerData;
const counter = new Int32Array(data.counter);
evaluateBlocks(
  {
    x: new Float64Array(data.x),
    n: data.n,
    d: data.d,
    labels: new Int32Array(data.labels),
    blockSize: data.blockSize,
    out: new Float64Array(data.out),
    useWasm: data.useWasm,
    precision: data.precision,
  },
  () => Atomics.add(counter, 0, data.blockSize),
);
parentPort?.postMessage('done');
