import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPython } from './python.js';

/**
 * The faiss peer of the evaluation suite (`bench perf --peer faiss`): peers/faiss_search.py,
 * faiss's exact IndexFlatIP searching every row's top k (leave-one-out), run on the same rows
 * right after rankbench's own evaluation. It reports Recall@K from its lists, so a case can say
 * whether both sides ranked alike before their times are compared.
 */

export const FAISS_PEER_SCRIPT = fileURLToPath(new URL('../../peers/faiss_search.py', import.meta.url));

export const NO_FAISS_MESSAGE =
  'peer faiss: no python3 here can import faiss, so the faiss peer is not run; install it with `apt-get install python3-faiss` (Debian) and rerun';

export function findFaissPython(): string | null {
  return findPython('faiss');
}

export interface FaissRequest {
  x: Float32Array | Float64Array;
  labels: Int32Array;
  n: number;
  d: number;
  /** Neighbours searched per query (besides the query itself). */
  k: number;
  ks: number[];
  threads: number;
  repeats: number;
  /** A folder for the request's files. */
  dir: string;
}

export type FaissAnswer = { ok: true; timesMs: number[]; recallAt: Record<string, number | null>; faiss: string } | { ok: false; error: string };

export function runFaissPeer(python: string, req: FaissRequest): FaissAnswer {
  const xFile = join(req.dir, `faiss-${req.n}.f32`);
  const labelsFile = join(req.dir, `faiss-${req.n}.i32`);
  const requestFile = join(req.dir, `faiss-${req.n}.json`);
  const x32 = Float32Array.from(req.x);
  writeFileSync(xFile, new Uint8Array(x32.buffer));
  writeFileSync(labelsFile, new Uint8Array(req.labels.buffer, req.labels.byteOffset, req.labels.byteLength));
  const { n, d, k, ks, threads, repeats } = req;
  writeFileSync(requestFile, JSON.stringify({ x: xFile, labels: labelsFile, n, d, k, ks, threads, repeats }));
  // faiss sizes its OpenMP team from the request; passive waiting keeps idle threads off the cores ours need next.
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const r = spawnSync(python, [FAISS_PEER_SCRIPT, requestFile], { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as FaissAnswer;
  } catch {
    const why = (r.stderr ?? '').trim().split('\n').pop() ?? `exit ${r.status}`;
    return { ok: false, error: `faiss peer failed: ${why}` };
  }
}
