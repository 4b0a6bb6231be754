import { describe, expect, it } from 'vitest';
import { holm, pairedTTest, studentTwoSidedP } from '../../src/tuning/paired.js';

describe('paired comparison helpers', () => {
  it('two-sided p of Student t matches closed forms and table values', () => {
    // df = 1 is the Cauchy distribution: p = 1 − (2/π)·atan(|t|).
    for (const t of [0.3, 1, 2.5, 10]) expect(studentTwoSidedP(t, 1)).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(t), 10);
    // df = 2: p = 1 − |t| / sqrt(2 + t²).
    for (const t of [0.5, 1.7, 4]) expect(studentTwoSidedP(t, 2)).toBeCloseTo(1 - t / Math.sqrt(2 + t * t), 10);
    // The 97.5% quantiles of the t table give p = 0.05.
    expect(studentTwoSidedP(2.7764451, 4)).toBeCloseTo(0.05, 6);
    expect(studentTwoSidedP(2.2621572, 9)).toBeCloseTo(0.05, 6);
  });

  it('pairedTTest on a hand-worked sample', () => {
    // diffs 1, 2, 3, 4: mean 2.5, sd sqrt(5/3), se = sd/2, t = 2.5/se.
    const r = pairedTTest([1, 2, 3, 4]);
    const se = Math.sqrt(5 / 3) / 2;
    expect(r.mean).toBe(2.5);
    expect(r.ci[0]).toBeCloseTo(2.5 - 3.1824 * se, 3);
    expect(r.ci[1]).toBeCloseTo(2.5 + 3.1824 * se, 3);
    expect(r.p).toBeCloseTo(studentTwoSidedP(2.5 / se, 3), 12);
    expect(pairedTTest([0.1]).p).toBeNaN();
  });

  it('holm adjusts step-down and keeps the order monotone', () => {
    // Sorted 0.01, 0.02, 0.04 → 3·0.01, max(0.03, 2·0.02), max(0.04, 1·0.04).
    expect(holm([0.04, 0.01, 0.02])).toEqual([0.04, 0.03, 0.04]);
    // 2·0.5 = 1 caps at 1, and the larger p may not fall below it.
    expect(holm([0.5, 0.6])).toEqual([1, 1]);
    expect(holm([0.2, NaN])).toEqual([0.2, NaN]);
  });
});
