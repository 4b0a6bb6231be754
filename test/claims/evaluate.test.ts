import { describe, expect, it } from 'vitest';
import { evaluateClaims, type ResultRow } from '../../src/claims/evaluate.js';
import { claimsTable, verdictLines } from '../../src/claims/output.js';
import type { BestClaim, BetterClaim, ClaimSpec, TrendClaim } from '../../src/claims/types.js';

const TAU = 'loss.params.tau';
const metric = (text: string) => {
  const abs = text.startsWith('|');
  const [a, b] = text
    .replace(/\|/g, '')
    .split('-')
    .map((s) => s.trim());
  return { a: a!, ...(b ? { b } : {}), abs, text };
};

/** results.csv rows as text, as the runner has them. */
function rows(
  spec: Array<{ dataset?: string; loss?: string; tau?: number | null; seed: number; map?: number; untrainedMap?: number; apGap?: number }>,
): ResultRow[] {
  return spec.map((s, i) => ({
    cell: `c${i}`,
    dataset: s.dataset ?? 'synthetic',
    loss: s.loss ?? 'smooth-ap',
    [TAU]: s.tau === undefined || s.tau === null ? '' : String(s.tau),
    seed: String(s.seed),
    map: s.map === undefined ? '' : String(s.map),
    untrainedMap: s.untrainedMap === undefined ? '' : String(s.untrainedMap),
    apGap: s.apGap === undefined ? '' : String(s.apGap),
  }));
}

/** Independent paired statistics for the expectations: mean, sd and t of a − b. */
function paired(a: number[], b: number[]): { mean: number; t: number } {
  const d = a.map((v, i) => v - b[i]!);
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1));
  return { mean, t: mean / (sd / Math.sqrt(d.length)) };
}

const best: BestClaim = { kind: 'best', text: 'τ = 0.01 gives the highest mAP', where: {}, param: TAU, value: 0.01, metric: metric('map'), goal: 'higher' };

describe('best', () => {
  // Seed effects are large (+0.1 per seed) and the τ effect small but consistent: only pairing
  // within a seed can see it.
  const seedShift = [0, 0.1, 0.2];
  const wiggle = [0.001, -0.002, 0.0005];
  const table = rows(
    [0, 1, 2].flatMap((s) => [
      { tau: 0.01, seed: s, map: 0.5 + seedShift[s]! + wiggle[s]! },
      { tau: 0.1, seed: s, map: 0.48 + seedShift[s]! - wiggle[s]! },
      { tau: 1, seed: s, map: 0.3 + seedShift[s]! + 2 * wiggle[s]! },
    ]),
  );

  it('holds when the named value beats every other, paired by seed, with Holm over the comparisons', () => {
    const [r] = evaluateClaims([best], table, [TAU]);
    expect(r!.verdict).toBe('holds');
    expect(r!.comparisons.map((c) => c.label)).toEqual(['0.01 vs 0.1', '0.01 vs 1']);
    const a = [0, 1, 2].map((s) => 0.5 + seedShift[s]! + wiggle[s]!);
    const b = [0, 1, 2].map((s) => 0.48 + seedShift[s]! - wiggle[s]!);
    const ref = paired(a, b);
    const c = r!.comparisons[0]!;
    expect(c.effect).toBeCloseTo(ref.mean, 12);
    expect(c.nPairs).toBe(3);
    // The weaker comparison decides; Holm doubles the smaller p (2 comparisons).
    expect(r!.decisive).toBe(c);
    const ps = r!.comparisons.map((x) => x.p);
    const smaller = Math.min(...ps);
    expect(r!.comparisons.find((x) => x.p === smaller)!.pAdjusted).toBeCloseTo(2 * smaller, 12);
    expect(c.aMean).toBeCloseTo(a.reduce((s, v) => s + v) / 3, 12);
  });

  it('does not hold when another value beats the named one significantly', () => {
    const claim = { ...best, value: 0.1, text: 'τ = 0.1 is best' };
    const [r] = evaluateClaims([claim], table, [TAU]);
    expect(r!.verdict).toBe('does not hold');
    expect(r!.decisive.label).toBe('0.1 vs 0.01');
    expect(r!.decisive.effect).toBeLessThan(0);
  });

  it('a missing cell leaves that seed out of the pair; under 3 pairs says not enough seeds', () => {
    const missing = table.filter((r) => !(r[TAU] === '0.1' && r.seed === '2'));
    const [r] = evaluateClaims([best], missing, [TAU]);
    expect(r!.comparisons[0]!.nPairs).toBe(2);
    expect(r!.comparisons[1]!.nPairs).toBe(3);
    expect(r!.verdict).toBe('not enough seeds');
    expect(verdictLines([r!])[0]).toMatch(/^not enough seeds +synthetic: τ = 0.01 gives the highest mAP .*2 pairs; a verdict needs 3 or more pairs/);
    const one = evaluateClaims(
      [best],
      table.filter((r) => r.seed === '0'),
      [TAU],
    );
    expect(one[0]!.verdict).toBe('not enough seeds');
    expect(one[0]!.decisive.nPairs).toBe(1);
    expect(Number.isNaN(one[0]!.decisive.p)).toBe(true);
  });

  it('inconclusive with noisy differences, and says how many seeds would probably decide', () => {
    const noisy = rows(
      [0, 1, 2, 3].flatMap((s) => [
        { tau: 0.01, seed: s, map: 0.5 + [0.01, -0.02, 0.03, 0.0][s]! },
        { tau: 0.1, seed: s, map: 0.5 },
      ]),
    );
    const [r] = evaluateClaims([best], noisy, [TAU]);
    expect(r!.verdict).toBe('inconclusive');
    // Differences 0.01, −0.02, 0.03, 0: mean 0.005, sd = sqrt(0.00065/3).
    const sd = Math.sqrt((0.005 ** 2 + 0.025 ** 2 + 0.025 ** 2 + 0.005 ** 2) / 3);
    expect(r!.decisive.effect).toBeCloseTo(0.005, 12);
    // Normal approximation of the seeds for 80% power: ((1.96 + 0.84) sd / 0.005)² ≈ 68; t adds a little.
    const approx = (((1.96 + 0.84) * sd) / 0.005) ** 2;
    expect(r!.decisive.seedsNeeded).toBeGreaterThanOrEqual(Math.floor(approx));
    expect(r!.decisive.seedsNeeded).toBeLessThan(approx * 1.15);
    expect(verdictLines([r!])[0]).toContain(`about ${r!.decisive.seedsNeeded} seeds would probably decide it`);
  });

  it('zero variance: the same difference in every seed decides at once', () => {
    const exact = rows(
      [0, 1, 2].flatMap((s) => [
        { tau: 0.01, seed: s, map: 0.6 + s / 10 },
        { tau: 0.1, seed: s, map: 0.5 + s / 10 },
      ]),
    );
    const [r] = evaluateClaims([best], exact, [TAU]);
    expect(r!.verdict).toBe('holds');
    expect(r!.decisive.p).toBe(0);
    const tie = rows(
      [0, 1, 2].flatMap((s) => [
        { tau: 0.01, seed: s, map: 0.5 },
        { tau: 0.1, seed: s, map: 0.5 },
      ]),
    );
    const [t] = evaluateClaims([best], tie, [TAU]);
    expect(t!.verdict).toBe('inconclusive');
    expect(t!.decisive.p).toBe(1);
  });
});

describe('better', () => {
  it('compares two losses on each metric, per dataset, Holm over all comparisons', () => {
    const claim: BetterClaim = {
      kind: 'better',
      text: 'A beats B and C',
      where: {},
      param: 'loss.name',
      a: 'A',
      b: ['B', 'C'],
      metrics: [metric('map')],
      goal: 'higher',
    };
    const data = rows(
      ['synthetic', 'mnist'].flatMap((dataset) =>
        [0, 1, 2].flatMap((s) => [
          { dataset, loss: 'A', seed: s, map: 0.5 + s * 0.01 + (dataset === 'mnist' ? -0.3 : 0) },
          { dataset, loss: 'B', seed: s, map: 0.4 + s * 0.012 },
          { dataset, loss: 'C', seed: s, map: 0.45 - s * 0.003 },
        ]),
      ),
    );
    const rs = evaluateClaims([claim], data, []);
    expect(rs.map((r) => [r.dataset, r.verdict])).toEqual([
      ['synthetic', 'holds'],
      ['mnist', 'does not hold'],
    ]);
    const ref = paired([0.5, 0.51, 0.52], [0.4, 0.412, 0.424]);
    expect(rs[0]!.comparisons[0]!.effect).toBeCloseTo(ref.mean, 12);
    const table = claimsTable(rs);
    expect(table.rows).toHaveLength(4);
    expect(table.rows.filter((r) => r.decisive === 'true')).toHaveLength(2);
    expect(table.rows[0]).toMatchObject({
      claim: 'A beats B and C',
      dataset: 'synthetic',
      kind: 'better',
      verdict: 'holds',
      n_pairs: '3',
      compared: 'A vs B',
      metric: 'map',
    });
  });

  it('two metrics of the same cells: every cell is a pair (trained vs untrained)', () => {
    const claim: BetterClaim = { kind: 'better', text: 'training helps', where: {}, param: null, a: 'map', b: ['untrainedMap'], metrics: [], goal: 'higher' };
    const data = rows([
      { loss: 'A', tau: 0.1, seed: 0, map: 0.26, untrainedMap: 0.11 },
      { loss: 'A', tau: 0.01, seed: 0, map: 0.25, untrainedMap: 0.11 },
      { loss: 'B', seed: 0, map: 0.29, untrainedMap: 0.11 },
      { loss: 'C', seed: 0, map: 0.2, untrainedMap: 0.11 },
    ]);
    const [r] = evaluateClaims([claim], data, [TAU]);
    expect(r!.decisive.nPairs).toBe(4);
    expect(r!.decisive.effect).toBeCloseTo((0.15 + 0.14 + 0.18 + 0.09) / 4, 12);
    expect(r!.verdict).toBe('holds');
    // One seed of four pairs: about 3 pairs decide, i.e. still one seed.
    expect(r!.decisive.seedsNeeded).toBe(1);
  });
});

describe('trend', () => {
  const trend: TrendClaim = { kind: 'trend', text: 'gap grows with τ', where: {}, param: TAU, metric: metric('|apGap|'), direction: 'increasing' };
  const taus = [0.001, 0.01, 0.1, 1];

  it('holds when |gap| rises with τ in every seed (sign of the gap ignored by |…|)', () => {
    const data = rows([0, 1, 2].flatMap((s) => taus.map((tau, i) => ({ tau, seed: s, apGap: -(0.01 * (i + 1) + s * 0.05) }))));
    const [r] = evaluateClaims([trend], data, [TAU]);
    expect(r!.verdict).toBe('holds');
    expect(r!.decisive.effect).toBe(1);
    expect(r!.decisive.nPairs).toBe(3);
    // Exact: 2 orderings of 24³ have |mean ρ| = 1.
    expect(r!.decisive.p).toBeCloseTo(2 / 24 ** 3, 12);
  });

  it('does not hold when the metric moves the other way; a two-value trend cannot hold on 3 seeds', () => {
    const down = rows([0, 1, 2].flatMap((s) => taus.map((tau, i) => ({ tau, seed: s, apGap: 1 - 0.1 * i + [0, 0.01, -0.01][s]! }))));
    expect(evaluateClaims([trend], down, [TAU])[0]!.verdict).toBe('does not hold');
    const two = rows([0, 1, 2].flatMap((s) => [0.01, 0.1].map((tau, i) => ({ tau, seed: s, apGap: i }))));
    const [r] = evaluateClaims([trend], two, [TAU]);
    expect(r!.verdict).toBe('inconclusive');
    expect(r!.decisive.p).toBeCloseTo(0.25, 12);
    // p = 2 · (1/2)^k < 0.05 first at k = 6 blocks.
    expect(r!.decisive.seedsNeeded).toBe(6);
  });

  it('where: keeps only the matching cells', () => {
    const claim: ClaimSpec = { ...trend, where: { loss: 'B' } };
    const data = rows([0, 1, 2].flatMap((s) => taus.map((tau, i) => ({ tau, seed: s, loss: 'A', apGap: i }))));
    expect(evaluateClaims([claim], data, [TAU])).toEqual([]);
  });
});
