import { Rng } from '../core/rng.js';

/** Random unit rows (float64), seeded: the inputs every perf case is measured on. */
export function randomUnitRows(n: number, d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      x[i * d + j] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < d; j++) x[i * d + j]! *= inv;
  }
  return x;
}

/** Labels in contiguous blocks of P (a PK batch), or `classes` classes spread round-robin. */
export function blockLabels(n: number, p: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => Math.floor(i / p));
}

export function roundRobinLabels(n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i % classes);
}
