import type { Params } from '../core/params.js';
import { Rng } from '../core/rng.js';
import { dataSeedParam, minPerClassParam, splitParam, splitPool, trainFractionParam } from './common.js';
import type { DatasetPlugin, Split } from './types.js';

/** Spread of class centres around their super-class centre (unit-norm scale). */
const CLASS_SPREAD = 0.8;
/** Spread of samples around their class centre in the class-signal subspace. */
const WITHIN_SPREAD = 0.4;

/**
 * SOP-like data: many classes, few samples each, classes grouped in super-classes so that
 * near neighbours of another class (hard negatives) exist.
 *
 * A quarter of the latent dimensions carry the class (super-class centre on the unit sphere,
 * class centre near it, sample near its class centre; class c belongs to super-class
 * c mod superClasses); the other dimensions are class-free
 * nuisance of size `noise`. A fixed random rotation hides which dimensions are which and a tanh
 * bends the space, so raw features retrieve poorly, a linear head can find the signal
 * subspace only approximately, and a nonlinear head has something to undo. A learned metric
 * transfers to unseen classes because the subspace is shared by all classes.
 */
export function generateSynthetic(params: Params): Split {
  const classes = params['classes'] as number;
  const perClass = params['perClass'] as number;
  const dim = params['dim'] as number;
  const superClasses = Math.min(params['superClasses'] as number, classes);
  const noise = params['noise'] as number;
  const rng = new Rng(params['seed'] as number);

  const s = Math.max(1, Math.floor(dim / 4));
  const r = dim - s;
  const supers = Array.from({ length: superClasses }, () => unit(gaussian(rng, s, 1)));
  const centres = Array.from({ length: classes }, (_, c) => {
    const g = supers[c % superClasses]!;
    const v = gaussian(rng, s, CLASS_SPREAD / Math.sqrt(s));
    for (let k = 0; k < s; k++) v[k]! += g[k]!;
    return unit(v);
  });
  const q = randomRotation(rng, dim);
  // Scaled so each rotated coordinate has a standard deviation near 1 before the tanh.
  const gain = Math.sqrt(dim / (1 + noise * noise));

  const n = classes * perClass;
  const x = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  const h = new Float64Array(dim);
  for (let c = 0, i = 0; c < classes; c++) {
    for (let t = 0; t < perClass; t++, i++) {
      const centre = centres[c]!;
      for (let k = 0; k < s; k++) h[k] = centre[k]! + (WITHIN_SPREAD / Math.sqrt(s)) * rng.normal();
      for (let k = 0; k < r; k++) h[s + k] = (noise / Math.sqrt(r)) * rng.normal();
      for (let a = 0; a < dim; a++) {
        let acc = 0;
        const row = a * dim;
        for (let b = 0; b < dim; b++) acc += q[row + b]! * h[b]!;
        x[i * dim + a] = Math.tanh(gain * acc);
      }
      labels[i] = c;
    }
  }
  return { x, n, dim, labels };
}

function gaussian(rng: Rng, n: number, scale: number): Float64Array {
  const v = new Float64Array(n);
  for (let k = 0; k < n; k++) v[k] = scale * rng.normal();
  return v;
}

function unit(v: Float64Array): Float64Array {
  let norm = 0;
  for (const a of v) norm += a * a;
  norm = Math.sqrt(norm) || 1;
  for (let k = 0; k < v.length; k++) v[k]! /= norm;
  return v;
}

/** A random orthogonal dim×dim matrix (row-major), by Gram-Schmidt on Gaussian rows. */
function randomRotation(rng: Rng, dim: number): Float64Array {
  const q = new Float64Array(dim * dim);
  for (let a = 0; a < dim; a++) {
    for (;;) {
      const v = gaussian(rng, dim, 1);
      for (let b = 0; b < a; b++) {
        let dot = 0;
        for (let k = 0; k < dim; k++) dot += v[k]! * q[b * dim + k]!;
        for (let k = 0; k < dim; k++) v[k]! -= dot * q[b * dim + k]!;
      }
      let norm = 0;
      for (const e of v) norm += e * e;
      // A nearly dependent draw would lose orthogonality in floating point; draw again.
      if (norm < 1e-6) continue;
      norm = Math.sqrt(norm);
      for (let k = 0; k < dim; k++) q[a * dim + k] = v[k]! / norm;
      break;
    }
  }
  return q;
}

export const synthetic: DatasetPlugin = {
  name: 'synthetic',
  description: 'SOP-like generated features: many classes, few samples each, grouped in super-classes (hard negatives)',
  params: [
    { name: 'classes', type: 'integer', default: 600, min: 2, max: 1_000_000, doc: 'number of classes (half train, half test when class-disjoint)' },
    { name: 'perClass', type: 'integer', default: 8, min: 2, max: 100_000, doc: 'samples per class' },
    { name: 'dim', type: 'integer', default: 64, min: 2, max: 4096, doc: 'feature dimension' },
    { name: 'superClasses', type: 'integer', default: 12, min: 1, doc: 'super-classes whose member classes lie close together (SOP has 12)' },
    { name: 'noise', type: 'number', default: 1.5, min: 0, doc: 'size of the class-free nuisance part relative to the class signal' },
    dataSeedParam,
    splitParam('class-disjoint'),
    trainFractionParam,
    minPerClassParam,
  ],
  async load(params) {
    const classes = params['classes'] as number;
    const supers = Math.min(params['superClasses'] as number, classes);
    // Class c belongs to super-class c mod superClasses (see generateSynthetic).
    const superClassOf = Int32Array.from({ length: classes }, (_, c) => c % supers);
    return { ...splitPool('synthetic', generateSynthetic(params), params), superClassOf };
  },
};
