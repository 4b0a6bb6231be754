import { describe, expect, it } from 'vitest';
import { summarize, tQuantile975 } from '../../src/experiments/stats.js';

/**
 * P(|T| <= t) for Student's t with nu degrees of freedom, by the substitution x = sqrt(nu)·tan θ,
 * under which the density is proportional to cos^(nu−1) θ on (−π/2, π/2): a smooth integrand
 * that Simpson's rule handles for any nu.
 */
function centralMass(t: number, nu: number): number {
  const f = (th: number): number => Math.cos(th) ** (nu - 1);
  const simpson = (a: number, b: number, n = 4000): number => {
    const h = (b - a) / n;
    let s = f(a) + f(b);
    for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
    return (s * h) / 3;
  };
  return simpson(0, Math.atan(t / Math.sqrt(nu))) / simpson(0, Math.PI / 2);
}

function exactQuantile(nu: number): number {
  let lo = 1;
  let hi = 20;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (centralMass(mid, nu) < 0.95) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

describe('t quantiles', () => {
  it('match the numerically integrated t distribution for df 1..30 (table) and beyond (expansion)', () => {
    for (const df of [1, 2, 3, 4, 5, 7, 10, 15, 20, 29, 30, 31, 35, 50, 100, 1000]) {
      expect(Math.abs(tQuantile975(df) - exactQuantile(df))).toBeLessThan(1.5e-4);
    }
  });

  it('tends to the normal quantile', () => {
    expect(tQuantile975(1e6)).toBeCloseTo(1.959964, 5);
  });
});

describe('summarize', () => {
  it('mean, sample std (n−1) and a t-based 95% CI, by hand for [0.2, 0.4, 0.9]', () => {
    const s = summarize([0.2, 0.4, 0.9]);
    const mean = 1.5 / 3;
    const std = Math.sqrt(((0.2 - mean) ** 2 + (0.4 - mean) ** 2 + (0.9 - mean) ** 2) / 2);
    expect(s.n).toBe(3);
    expect(s.mean).toBeCloseTo(mean, 14);
    expect(s.std).toBeCloseTo(std, 14);
    expect(s.ci95Low).toBeCloseTo(mean - (4.3027 * std) / Math.sqrt(3), 12);
    expect(s.ci95High).toBeCloseTo(mean + (4.3027 * std) / Math.sqrt(3), 12);
  });

  it('leaves out values a cell does not have, and gives no spread for one value', () => {
    const s = summarize([0.5, NaN]);
    expect(s.n).toBe(1);
    expect(s.mean).toBe(0.5);
    expect(s.std).toBeNaN();
    expect(s.ci95Low).toBeNaN();
    expect(summarize([]).n).toBe(0);
  });
});
