/** Shared test scaffolding for the loss tests: data, finite differences, error norms. */
import { Rng } from '../../src/core/rng.js';

/** n random rows of length d, each scaled to unit norm (as the model's last layer does). */
export { randomUnitRows as randomUnit } from '../../src/perf/inputs.js';

/** n random values in [-1, 1), not normalised. */
export function randomMatrix(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.next() - 1;
  return a;
}

export function dot(x: Float64Array, d: number, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += x[i * d + k]! * x[j * d + k]!;
  return s;
}

export function euclid(x: Float64Array, d: number, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    const t = x[i * d + k]! - x[j * d + k]!;
    s += t * t;
  }
  return Math.sqrt(s);
}

/** Central differences of f at x, one coordinate at a time. */
export function centralDiff(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const y = Float64Array.from(x);
  for (let k = 0; k < x.length; k++) {
    y[k] = x[k]! + h;
    const up = f(y);
    y[k] = x[k]! - h;
    const down = f(y);
    y[k] = x[k]!;
    g[k] = (up - down) / (2 * h);
  }
  return g;
}

/** ‖a − b‖ / ‖b‖ (Euclidean over all entries). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]! - b[i]!);
    if (!(v <= m)) m = v;
  }
  return m;
}

export function meanOfValid(v: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isNaN(v[i])) {
      s += v[i]!;
      c++;
    }
  }
  return s / c;
}

/** Labels in a scrambled order with uneven class sizes and one singleton class (always skipped). */
export function unevenLabels(): Int32Array {
  return Int32Array.from([7, 2, 7, 5, 2, 7, 9, 5, 2, 7, 3, 5]);
}

/** The spec's formula, loop by loop: sums over the retrieval set and the positive set of each query. */
export function bruteSmoothAp(x: Float64Array, n: number, d: number, labels: Int32Array, tau: number, includeQuery: boolean) {
  const sig = (v: number) => 1 / (1 + Math.exp(Math.min(50, Math.max(-50, -v / tau))));
  const ap = new Float64Array(n).fill(NaN);
  for (let q = 0; q < n; q++) {
    const others = [...labels.keys()].filter((j) => j !== q && labels[j] === labels[q]);
    if (others.length === 0) continue;
    const positives = includeQuery ? [...others, q] : others;
    const retrieval = [...labels.keys()].filter((j) => includeQuery || j !== q);
    let sum = 0;
    for (const i of positives) {
      const si = dot(x, d, q, i);
      let rAll = 1;
      for (const j of retrieval) if (j !== i) rAll += sig(dot(x, d, q, j) - si);
      let rPos = 1;
      for (const j of positives) if (j !== i) rPos += sig(dot(x, d, q, j) - si);
      sum += rPos / rAll;
    }
    ap[q] = sum / positives.length;
  }
  return { loss: 1 - meanOfValid(ap), ap };
}

/** Exact AP per query by sorting (for batches without tied scores); NaN when q has no other item of its class. */
export function bruteExactAp(x: Float64Array, n: number, d: number, labels: ArrayLike<number>, includeQuery: boolean): Float64Array {
  const ap = new Float64Array(n).fill(NaN);
  for (let q = 0; q < n; q++) {
    const items = [...Array(n).keys()].filter((j) => includeQuery || j !== q);
    if (!items.some((j) => j !== q && labels[j] === labels[q])) continue;
    items.sort((a, b) => dot(x, d, q, b) - dot(x, d, q, a));
    let hits = 0;
    let sum = 0;
    items.forEach((j, r) => {
      if (labels[j] === labels[q]) sum += ++hits / (r + 1);
    });
    ap[q] = sum / hits;
  }
  return ap;
}
