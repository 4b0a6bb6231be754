/**
 * The statistics behind claim verdicts: Student's t distribution, the paired t-test, Spearman's
 * rank correlation, Holm's correction and a sample-size estimate. Pure functions on numbers.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; about 15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a - 1 + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + 1 + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast only on the side of the mean; use the symmetry on the other.
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(a, b, x)) / a;
  return 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** Two-sided tail P(|T| ≥ |t|) of Student's t with df degrees of freedom. */
export function tTwoSided(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The quantile t_{q, df} (0 < q < 1), by bisection on the distribution function. */
export function tQuantile(q: number, df: number): number {
  if (!(q > 0 && q < 1)) throw new Error(`tQuantile: q must be in (0, 1), got ${q}`);
  if (q === 0.5) return 0;
  if (q < 0.5) return -tQuantile(1 - q, df);
  const tail = 2 * (1 - q);
  let lo = 0;
  let hi = 1;
  while (tTwoSided(hi, df) > tail) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tTwoSided(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface PairedTest {
  /** Number of finite pairs used. */
  n: number;
  /** Mean of the differences a − b. */
  mean: number;
  /** Sample standard deviation of the differences (n − 1); NaN when n < 2. */
  sd: number;
  t: number;
  /** Two-sided p-value; NaN when n < 2. */
  p: number;
  /** 95% confidence interval of the mean difference; NaN when n < 2. */
  ciLow: number;
  ciHigh: number;
}

/**
 * Paired t-test of the differences d_i (already a − b). Degenerate cases: n < 2 has no spread,
 * so no p-value or interval; identical differences (zero spread) are a certain effect when not
 * zero (p = 0, a zero-width interval) and no effect when all zero (p = 1).
 */
export function pairedTTest(diffs: readonly number[]): PairedTest {
  const d = diffs.filter((v) => Number.isFinite(v));
  const n = d.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, t: NaN, p: NaN, ciLow: NaN, ciHigh: NaN };
  const mean = d.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { n, mean, sd: NaN, t: NaN, p: NaN, ciLow: NaN, ciHigh: NaN };
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  // Differences equal up to rounding (e.g. a constant offset) count as no spread.
  if (sd <= 1e-12 * Math.max(1e-300, Math.abs(mean))) {
    return mean === 0
      ? { n, mean, sd: 0, t: 0, p: 1, ciLow: 0, ciHigh: 0 }
      : { n, mean, sd: 0, t: Math.sign(mean) * Infinity, p: 0, ciLow: mean, ciHigh: mean };
  }
  const se = sd / Math.sqrt(n);
  const t = mean / se;
  const half = tQuantile(0.975, n - 1) * se;
  return { n, mean, sd, t, p: tTwoSided(t, n - 1), ciLow: mean - half, ciHigh: mean + half };
}

/** Ranks 1..n with ties given their average rank. */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((v, i) => i).sort((i, j) => xs[i]! - xs[j]!);
  const ranks = new Array<number>(xs.length);
  for (let s = 0; s < order.length; ) {
    let e = s;
    while (e + 1 < order.length && xs[order[e + 1]!] === xs[order[s]!]) e++;
    const r = (s + e) / 2 + 1;
    for (let k = s; k <= e; k++) ranks[order[k]!] = r;
    s = e + 1;
  }
  return ranks;
}

/**
 * Spearman's ρ: Pearson's correlation of the (average) ranks. A side with no spread (every
 * value tied) carries no ordering, so ρ is 0 there rather than undefined.
 */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new Error('spearman: lengths differ');
  const rx = averageRanks(xs);
  const ry = averageRanks(ys);
  const n = xs.length;
  const mx = rx.reduce((a, b) => a + b, 0) / n;
  const my = ry.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - my);
    sxx += (rx[i]! - mx) ** 2;
    syy += (ry[i]! - my) ** 2;
  }
  if (sxx === 0 || syy === 0) return 0;
  return sxy / Math.sqrt(sxx * syy);
}

/** Holm's step-down adjustment of p-values (in the input order; NaN stays NaN and is not counted). */
export function holm(ps: readonly number[]): number[] {
  const idx = ps.map((p, i) => i).filter((i) => Number.isFinite(ps[i]!));
  idx.sort((i, j) => ps[i]! - ps[j]!);
  const m = idx.length;
  const out = ps.map(() => NaN);
  let running = 0;
  idx.forEach((i, k) => {
    running = Math.max(running, Math.min(1, (m - k) * ps[i]!));
    out[i] = running;
  });
  return out;
}

/** Cap of the sample-size search: beyond it the answer is "more than this". */
export const MAX_PAIRS = 10000;

/**
 * Pairs probably needed to decide: the smallest n for which a paired t-test with the observed
 * mean and spread reaches significance at `alpha` with 80% power. Infinity when the observed
 * mean is 0 or the answer passes MAX_PAIRS; NaN when there is no spread estimate.
 */
export function pairsNeeded(mean: number, sd: number, alpha: number): number {
  if (!Number.isFinite(mean) || !Number.isFinite(sd)) return NaN;
  if (mean === 0) return Infinity;
  if (sd === 0) return 3;
  const effect = Math.abs(mean) / sd;
  const enough = (n: number): boolean => effect * Math.sqrt(n) >= tQuantile(1 - alpha / 2, n - 1) + tQuantile(0.8, n - 1);
  if (!enough(MAX_PAIRS)) return Infinity;
  let lo = 2;
  let hi = MAX_PAIRS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (enough(mid)) hi = mid;
    else lo = mid;
  }
  return Math.max(3, hi);
}
