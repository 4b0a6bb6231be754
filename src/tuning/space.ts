import type { ParamValue } from '../core/params.js';
import type { Rng } from '../core/rng.js';

/** One tuned key path: a numeric range (log scale where the value spans decades) or a choice. */
export type Dimension =
  | { key: string; kind: 'range'; min: number; max: number; log: boolean; integer: boolean }
  | { key: string; kind: 'choice'; values: readonly ParamValue[] };

/** A configuration proposed for one trial: tuned key path → value. */
export type Point = Record<string, ParamValue>;

/**
 * Position of a value in [0, 1] along its dimension (log of the value for a log range; the index
 * over the count for a choice), where the strategies do their arithmetic.
 */
export function toUnit(dim: Dimension, v: ParamValue): number {
  if (dim.kind === 'choice') {
    const i = dim.values.findIndex((x) => x === v);
    return (Math.max(0, i) + 0.5) / dim.values.length;
  }
  const x = Number(v);
  if (dim.max === dim.min) return 0.5;
  const u = dim.log ? (Math.log(x) - Math.log(dim.min)) / (Math.log(dim.max) - Math.log(dim.min)) : (x - dim.min) / (dim.max - dim.min);
  return Math.min(1, Math.max(0, u));
}

/** The value at unit position `u` (clamped to [0, 1]); integers round, staying inside the range. */
export function fromUnit(dim: Dimension, u: number): ParamValue {
  const c = Math.min(1, Math.max(0, u));
  if (dim.kind === 'choice') return dim.values[Math.min(dim.values.length - 1, Math.floor(c * dim.values.length))]!;
  let x = dim.log ? Math.exp(Math.log(dim.min) + c * (Math.log(dim.max) - Math.log(dim.min))) : dim.min + c * (dim.max - dim.min);
  if (dim.integer) x = Math.min(dim.max, Math.max(dim.min, Math.round(x)));
  else x = Math.min(dim.max, Math.max(dim.min, x));
  // Shortest decimal that keeps 6 significant digits: a readable column in tuning.csv and a
  // stable value in the cell id, whatever the arithmetic that produced it.
  return dim.integer ? x : Number(x.toPrecision(6));
}

/** Every dimension drawn uniformly (log-uniformly for a log range). */
export function sampleUniform(dims: readonly Dimension[], rng: Rng): Point {
  const p: Point = {};
  for (const d of dims) p[d.key] = fromUnit(d, rng.next());
  return p;
}
