import { Rng } from '../core/rng.js';
import { fromUnit, sampleUniform, toUnit, type Dimension, type Point } from './space.js';

/** A finished trial as the strategies see it: its point and objective (higher is better). */
export interface Observation {
  point: Point;
  /** NaN for a trial whose objective could not be computed: ranked below every finite one. */
  objective: number;
}

export type StrategyName = 'random' | 'tpe';
export const STRATEGY_NAMES: readonly StrategyName[] = ['random', 'tpe'];

export interface StrategyOptions {
  /** tpe: trials drawn at random before the model proposes. */
  initial: number;
}

/**
 * Proposes one trial's point from the trials finished so far. Pure: the same history and `rng`
 * state give the same point, which is what lets a rerun (or another worker) recompute every
 * earlier proposal instead of storing it.
 */
export function propose(strategy: StrategyName, dims: readonly Dimension[], history: readonly Observation[], rng: Rng, opts: StrategyOptions): Point {
  if (strategy === 'random' || history.length < Math.max(2, opts.initial)) return sampleUniform(dims, rng);
  return proposeTpe(dims, history, rng);
}

/** Share of the history, best first, that forms the "good" density. */
const GAMMA = 0.25;
/** Candidates drawn from the good density; the one with the best density ratio is proposed. */
const CANDIDATES = 24;

const rank = (o: Observation): number => (Number.isFinite(o.objective) ? o.objective : -Infinity);

/**
 * Tree-structured Parzen estimator (Bergstra et al., 2011), each dimension on its own: the
 * trials are split into the best quarter and the rest, each group's values become a Parzen
 * density (Gaussian kernels in unit space, with a uniform prior mixed in so no region is ever
 * ruled out; a smoothed histogram for choices), and of candidates drawn from the good density the
 * one maximising good/rest is proposed — the expected-improvement criterion of that paper.
 */
function proposeTpe(dims: readonly Dimension[], history: readonly Observation[], rng: Rng): Point {
  const sorted = [...history].sort((a, b) => rank(b) - rank(a));
  const nGood = Math.max(1, Math.ceil(GAMMA * sorted.length));
  const good = sorted.slice(0, nGood);
  const rest = sorted.slice(nGood);
  const goodDens = dims.map((d) =>
    density(
      d,
      good.map((o) => toUnit(d, o.point[d.key]!)),
    ),
  );
  const restDens = dims.map((d) =>
    density(
      d,
      rest.map((o) => toUnit(d, o.point[d.key]!)),
    ),
  );
  let best: Point | null = null;
  let bestScore = -Infinity;
  for (let c = 0; c < CANDIDATES; c++) {
    const us = goodDens.map((g) => g.sample(rng));
    let score = 0;
    dims.forEach((_, i) => {
      score += Math.log(goodDens[i]!.pdf(us[i]!)) - Math.log(restDens[i]!.pdf(us[i]!));
    });
    if (score > bestScore) {
      bestScore = score;
      best = Object.fromEntries(dims.map((d, i) => [d.key, fromUnit(d, us[i]!)]));
    }
  }
  return best ?? sampleUniform(dims, rng);
}

interface Density {
  pdf(u: number): number;
  sample(rng: Rng): number;
}

/** A Parzen density over [0, 1] of the points `us`, one part in (n + 1) uniform prior. */
function density(dim: Dimension, us: readonly number[]): Density {
  const n = us.length;
  const prior = 1 / (n + 1);
  if (dim.kind === 'choice') {
    const k = dim.values.length;
    const counts = new Array<number>(k).fill(1);
    for (const u of us) counts[Math.min(k - 1, Math.floor(u * k))]!++;
    const total = n + k;
    return {
      // Density in unit space: the probability of the bin times its count of bins.
      pdf: (u) => (counts[Math.min(k - 1, Math.floor(Math.min(1, Math.max(0, u)) * k))]! / total) * k,
      sample: (rng) => {
        let r = rng.next() * total;
        for (let i = 0; i < k; i++) {
          r -= counts[i]!;
          if (r < 0) return (i + 0.5) / k;
        }
        return (k - 0.5) / k;
      },
    };
  }
  // Adaptive bandwidths: each kernel is as wide as the larger gap to its neighbours (the
  // interval's ends count as neighbours), never below 1/min(100, n + 1). A fixed rule on the
  // points' spread collapses onto the first good region found and stops exploring.
  const order = us.map((u, i) => [u, i] as const).sort((a, b) => a[0] - b[0]);
  const hs = new Array<number>(n).fill(1);
  const floor = 1 / Math.min(100, n + 1);
  order.forEach(([u, i], j) => {
    const left = j > 0 ? u - order[j - 1]![0] : u;
    const right = j < n - 1 ? order[j + 1]![0] - u : 1 - u;
    hs[i] = Math.min(1, Math.max(floor, left, right));
  });
  // Each kernel is truncated to [0, 1] and renormalised, so every density integrates to one there.
  const mass = us.map((m, i) => normCdf((1 - m) / hs[i]!) - normCdf((0 - m) / hs[i]!));
  return {
    pdf: (u) => {
      let p = prior;
      for (let i = 0; i < n; i++) p += ((1 - prior) / n) * (normPdf((u - us[i]!) / hs[i]!) / hs[i]! / Math.max(1e-12, mass[i]!));
      return p;
    },
    sample: (rng) => {
      if (n === 0 || rng.next() < prior) return rng.next();
      const i = rng.int(n);
      for (let tries = 0; tries < 100; tries++) {
        const u = us[i]! + hs[i]! * rng.normal();
        if (u >= 0 && u <= 1) return u;
      }
      return Math.min(1, Math.max(0, us[i]!));
    },
  };
}

function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf, error below 1.5e-7). */
function normCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** The rng of one trial: a function of the search seed, the group (dataset, loss) and the trial index alone. */
export function trialRng(seed: number, group: string, trial: number): Rng {
  let h = 2166136261;
  for (const ch of `${seed}|${group}|${trial}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return new Rng(h);
}
