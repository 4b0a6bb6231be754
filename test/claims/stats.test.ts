import { describe, expect, it } from 'vitest';
import { holm, pairedTTest, pairsNeeded, spearman, tQuantile, tTwoSided } from '../../src/claims/stats.js';
import { trendPValue } from '../../src/claims/evaluate.js';

/**
 * Independent routine: P(|T| >= t) for Student's t with nu degrees of freedom, by Simpson's rule
 * after x = sqrt(nu)·tan θ (the density becomes ∝ cos^(nu−1) θ on (−π/2, π/2)).
 */
function twoSidedBySimpson(t: number, nu: number): number {
  const f = (th: number): number => Math.cos(th) ** (nu - 1);
  const simpson = (a: number, b: number, n = 20000): number => {
    const h = (b - a) / n;
    let s = f(a) + f(b);
    for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
    return (s * h) / 3;
  };
  return 1 - simpson(0, Math.atan(Math.abs(t) / Math.sqrt(nu))) / simpson(0, Math.PI / 2);
}

/** Independent paired t-test, written out longhand. */
function referenceTest(d: number[]): { mean: number; sd: number; t: number; p: number; half: number } {
  const n = d.length;
  let sum = 0;
  for (const v of d) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of d) ss += (v - mean) * (v - mean);
  const sd = Math.sqrt(ss / (n - 1));
  const t = mean / (sd / Math.sqrt(n));
  // 95% quantile by bisection on the Simpson tail.
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (twoSidedBySimpson(mid, n - 1) > 0.05) lo = mid;
    else hi = mid;
  }
  return { mean, sd, t, p: twoSidedBySimpson(t, n - 1), half: ((lo + hi) / 2) * (sd / Math.sqrt(n)) };
}

describe('Student t distribution', () => {
  it('matches the closed forms for 1 and 2 degrees of freedom', () => {
    for (const t of [0, 0.3, 1, 2.5, 7, 40]) {
      // df = 1 is the Cauchy distribution; df = 2 has F(t) = 1/2 + t / (2 sqrt(t² + 2)).
      expect(tTwoSided(t, 1)).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(t), 12);
      expect(tTwoSided(t, 2)).toBeCloseTo(1 - t / Math.sqrt(t * t + 2), 12);
    }
  });

  it('matches numerical integration for more degrees of freedom', () => {
    for (const df of [3, 4, 7, 12, 30, 80]) {
      for (const t of [0.5, 1.7, 3.1]) expect(Math.abs(tTwoSided(t, df) - twoSidedBySimpson(t, df))).toBeLessThan(1e-9);
    }
  });

  it('gives the textbook 97.5% quantiles', () => {
    // Printed t tables: 12.706, 4.303, 3.182, 2.776, 2.228 (df 10), 2.042 (df 30).
    const table: Array<[number, number]> = [
      [1, 12.7062],
      [2, 4.3027],
      [3, 3.1824],
      [4, 2.7764],
      [10, 2.2281],
      [30, 2.0423],
    ];
    for (const [df, q] of table) expect(tQuantile(0.975, df)).toBeCloseTo(q, 3);
    // Exact for df = 2: t_q = (2q − 1) / sqrt(2 q (1 − q)).
    for (const q of [0.6, 0.9, 0.975, 0.999]) expect(tQuantile(q, 2)).toBeCloseTo((2 * q - 1) / Math.sqrt(2 * q * (1 - q)), 8);
    expect(tQuantile(0.025, 5)).toBeCloseTo(-tQuantile(0.975, 5), 12);
  });
});

describe('paired t-test', () => {
  it('agrees with the longhand routine', () => {
    const cases = [
      [1, 2, 3, 4, 5],
      [0.012, -0.004, 0.02],
      [0.3, 0.1, -0.2, 0.25, 0.05, 0.4, 0.12],
    ];
    for (const d of cases) {
      const got = pairedTTest(d);
      const ref = referenceTest(d);
      expect(got.n).toBe(d.length);
      expect(got.mean).toBeCloseTo(ref.mean, 12);
      expect(got.sd).toBeCloseTo(ref.sd, 12);
      expect(got.t).toBeCloseTo(ref.t, 10);
      expect(Math.abs(got.p - ref.p)).toBeLessThan(1e-8);
      expect(got.ciLow).toBeCloseTo(ref.mean - ref.half, 6);
      expect(got.ciHigh).toBeCloseTo(ref.mean + ref.half, 6);
    }
  });

  it('works the hand example 1..5: t = 3/sqrt(0.5), df 4', () => {
    const r = pairedTTest([1, 2, 3, 4, 5]);
    expect(r.t).toBeCloseTo(3 / Math.sqrt(0.5), 12);
    // 95% CI: 3 ± 2.776445 · sqrt(2.5/5)
    expect(r.ciLow).toBeCloseTo(3 - 2.776445 * Math.sqrt(0.5), 5);
    expect(r.p).toBeCloseTo(0.013236, 5);
  });

  it('zero variance: a constant non-zero difference is certain, all-zero is no effect', () => {
    const c = pairedTTest([0.1, 0.1, 0.1]);
    expect(c.p).toBe(0);
    expect(c.ciLow).toBeCloseTo(0.1, 15);
    expect(c.ciHigh).toBe(c.ciLow);
    const z = pairedTTest([0, 0, 0, 0]);
    expect(z.p).toBe(1);
    expect(z.mean).toBe(0);
  });

  it('one pair has a mean but no spread, p or interval; no pair has nothing', () => {
    const one = pairedTTest([0.2]);
    expect(one.n).toBe(1);
    expect(one.mean).toBe(0.2);
    expect(Number.isNaN(one.p) && Number.isNaN(one.ciLow) && Number.isNaN(one.sd)).toBe(true);
    expect(pairedTTest([]).n).toBe(0);
    expect(pairedTTest([NaN, 0.1, Infinity]).n).toBe(1);
  });
});

describe('Spearman, Holm, sample size', () => {
  it('Spearman without ties is 1 − 6 Σ d² / (n (n² − 1))', () => {
    const x = [1, 2, 3, 4, 5, 6];
    const y = [0.3, 0.1, 0.5, 0.9, 0.7, 1.1];
    const ry = [2, 1, 3, 5, 4, 6];
    const d2 = x.reduce((s, xi, i) => s + (xi - ry[i]!) ** 2, 0);
    expect(spearman(x, y)).toBeCloseTo(1 - (6 * d2) / (6 * 35), 12);
    expect(
      spearman(
        x,
        [...y].reverse().map((v) => -v),
      ),
    ).toBeCloseTo(spearman(x, y), 12);
  });

  it('Spearman with ties uses average ranks; a constant side is 0', () => {
    // Ranks of y = [1, 1, 2, 3]: [1.5, 1.5, 3, 4]; Pearson with [1, 2, 3, 4] by hand.
    const rx = [1, 2, 3, 4];
    const ry = [1.5, 1.5, 3, 4];
    const mx = 2.5;
    const my = 2.5;
    const num = rx.reduce((s, v, i) => s + (v - mx) * (ry[i]! - my), 0);
    const den = Math.sqrt(rx.reduce((s, v) => s + (v - mx) ** 2, 0) * ry.reduce((s, v) => s + (v - my) ** 2, 0));
    expect(spearman([10, 20, 30, 40], [1, 1, 2, 3])).toBeCloseTo(num / den, 12);
    expect(spearman([1, 2, 3], [5, 5, 5])).toBe(0);
  });

  it('Holm: sorted p times (m − rank + 1), made monotone, capped at 1', () => {
    // Sorted: 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → raised to 0.06 to stay monotone.
    const h = holm([0.01, 0.04, 0.03]);
    [0.03, 0.06, 0.06].forEach((v, i) => expect(h[i]).toBeCloseTo(v, 12));
    expect(holm([0.5, 0.2])).toEqual([0.5, 0.4]);
    expect(holm([0.9, 0.3, NaN])).toEqual([0.9, 0.6, NaN]);
    expect(holm([0.9, 0.8])).toEqual([1, 1]);
    expect(holm([0.7])).toEqual([0.7]);
  });

  it('pairs needed: significance with 80% power at the observed effect, more for a smaller one', () => {
    // Normal approximation: n ≈ ((1.96 + 0.84) / 0.5)² = 31.4; the t distribution adds a few.
    const n = pairsNeeded(0.5, 1, 0.05);
    expect(n).toBeGreaterThanOrEqual(32);
    expect(n).toBeLessThanOrEqual(36);
    // At n the criterion holds and at n − 1 it does not (independent quantiles by Simpson).
    const crit = (k: number): boolean => {
      const q = (tail: number): number => {
        let lo = 0;
        let hi = 50;
        for (let i = 0; i < 60; i++) {
          const mid = (lo + hi) / 2;
          if (twoSidedBySimpson(mid, k - 1) > tail) lo = mid;
          else hi = mid;
        }
        return (lo + hi) / 2;
      };
      return 0.5 * Math.sqrt(k) >= q(0.05) + q(0.4);
    };
    expect(crit(n)).toBe(true);
    expect(crit(n - 1)).toBe(false);
    expect(pairsNeeded(0.1, 1, 0.05)).toBeGreaterThan(n * 20);
    expect(pairsNeeded(0, 1, 0.05)).toBe(Infinity);
    expect(pairsNeeded(0.3, NaN, 0.05)).toBeNaN();
  });
});

describe('trend p-value (within-block permutations)', () => {
  /** Brute force: every reordering of each block, counted. */
  function bruteForce(groups: Array<{ x: number[]; y: number[] }>): number {
    const perms = (a: number[]): number[][] => (a.length <= 1 ? [a] : a.flatMap((v, i) => perms([...a.slice(0, i), ...a.slice(i + 1)]).map((p) => [v, ...p])));
    const stat = (ys: number[][]): number => Math.abs(groups.reduce((s, g, i) => s + spearman(g.x, ys[i]!), 0) / groups.length);
    const obs = stat(groups.map((g) => g.y));
    let all: number[][][] = [[]];
    for (const g of groups) all = all.flatMap((ys) => perms(g.y).map((p) => [...ys, p]));
    return all.filter((ys) => stat(ys) >= obs - 1e-12).length / all.length;
  }

  it('two values per block: three agreeing blocks are p = 2/8, not certainty', () => {
    const g = [0, 1, 2].map(() => ({ x: [1, 2], y: [0.1, 0.2] }));
    expect(trendPValue(g)).toBeCloseTo(0.25, 12);
  });

  it('matches brute force on small blocks', () => {
    const groups = [
      { x: [1, 2, 3], y: [0.1, 0.3, 0.2] },
      { x: [1, 2, 3], y: [0.2, 0.25, 0.4] },
      { x: [1, 2, 3, 4], y: [0.1, 0.15, 0.12, 0.3] },
    ];
    expect(trendPValue(groups)).toBeCloseTo(bruteForce(groups), 12);
  });

  it('many orderings: Monte Carlo near the smallest possible p for a perfect trend', () => {
    const g = [0, 1, 2].map(() => ({ x: [1, 2, 3, 4, 5, 6], y: [1, 2, 3, 4, 5, 6] }));
    // Exact: 2 / 720³ ≈ 5e-9; the add-one Monte Carlo floor is 1 / 20001.
    expect(trendPValue(g)).toBeCloseTo(1 / 20001, 10);
  });
});
