import { describe, expect, it } from 'vitest';
import { fromUnit, toUnit, type Dimension, type Point } from '../../src/tuning/space.js';
import { propose, trialRng, type Observation, type StrategyName } from '../../src/tuning/strategies.js';
import { roundBounds } from '../../src/tuning/spec.js';

const DIMS: Dimension[] = [
  { key: 'loss.params.tau', kind: 'range', min: 1e-4, max: 1, log: true, integer: false },
  { key: 'train.lr', kind: 'range', min: 1e-5, max: 1e-1, log: true, integer: false },
  { key: 'loss.params.margin', kind: 'range', min: 0, max: 1, log: false, integer: false },
  { key: 'loss.params.mining', kind: 'choice', values: ['all', 'semihard', 'hard', 'batch-hard'] },
];

/** Known optimum 0 at tau = 0.01, lr = 1e-3, margin = 0.3, mining = hard. */
function objective(p: Point): number {
  const a = Math.log10(p['loss.params.tau'] as number) + 2;
  const b = Math.log10(p['train.lr'] as number) + 3;
  const c = (p['loss.params.margin'] as number) - 0.3;
  return -(a * a + b * b + 10 * c * c + (p['loss.params.mining'] === 'hard' ? 0 : 1));
}

function search(strategy: StrategyName, seed: number, budget: number): Observation[] {
  const history: Observation[] = [];
  for (let t = 0; t < budget; t++) {
    const point = propose(strategy, DIMS, history, trialRng(seed, 'g', t), { initial: 8 });
    history.push({ point, objective: objective(point) });
  }
  return history;
}

describe('search space', () => {
  it('maps log ranges through the logarithm and keeps integers inside the range', () => {
    const d: Dimension = { key: 'x', kind: 'range', min: 1e-3, max: 10, log: true, integer: false };
    expect(fromUnit(d, 0.5)).toBeCloseTo(0.1, 10); // geometric midpoint of 1e-3 and 10
    expect(toUnit(d, 0.1)).toBeCloseTo(0.5, 10);
    const i: Dimension = { key: 'b', kind: 'range', min: 5, max: 40, log: true, integer: true };
    for (let u = 0; u <= 1; u += 0.01) {
      const v = fromUnit(i, u) as number;
      expect(Number.isInteger(v) && v >= 5 && v <= 40).toBe(true);
    }
  });
});

describe('search strategies', () => {
  it('random search is reproducible from its seed and differs between seeds', () => {
    const a = search('random', 7, 12).map((o) => o.point);
    const b = search('random', 7, 12).map((o) => o.point);
    const c = search('random', 8, 12).map((o) => o.point);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    // Every value inside its range; log-uniform draws spread over the decades.
    for (const p of a) {
      expect(p['loss.params.tau']).toBeGreaterThanOrEqual(1e-4);
      expect(p['loss.params.tau']).toBeLessThanOrEqual(1);
    }
  });

  it('trial points do not depend on the budget: a longer search starts with the shorter one', () => {
    expect(search('tpe', 3, 20).slice(0, 12)).toEqual(search('tpe', 3, 12));
  });

  it('the model-based strategy beats random search on a known optimum, on average over seeds', () => {
    const seeds = Array.from({ length: 20 }, (_, i) => i);
    const bestOf = (h: Observation[]): number => Math.max(...h.map((o) => o.objective));
    const randomBest = seeds.map((s) => bestOf(search('random', s, 40)));
    const tpeBest = seeds.map((s) => bestOf(search('tpe', s, 40)));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Regret is -best (the optimum is 0): the model's must be clearly smaller.
    expect(-mean(tpeBest)).toBeLessThan(0.6 * -mean(randomBest));
    expect(tpeBest.filter((b, i) => b > randomBest[i]!).length).toBeGreaterThan(seeds.length / 2);
  });
});

describe('tuning rounds', () => {
  it('tpe: the random trials together, then batches of `batch`, the last cut at the budget; random: one round', () => {
    expect(roundBounds({ strategy: 'tpe', initial: 3, batch: 2, budget: 8 })).toEqual([
      [0, 3],
      [3, 5],
      [5, 7],
      [7, 8],
    ]);
    expect(roundBounds({ strategy: 'tpe', initial: 3, batch: 2, budget: 2 })).toEqual([[0, 2]]);
    expect(roundBounds({ strategy: 'random', initial: 3, batch: 2, budget: 8 })).toEqual([[0, 8]]);
  });
});
