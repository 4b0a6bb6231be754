import { describe, expect, it } from 'vitest';
import { cellKey, compareRuns, failed, trackedMetrics, DEFAULT_TOLERANCE } from '../../src/check/compare.js';

const header = ['experiment', 'cell', 'dataset', 'loss', 'loss.params.tau', 'seed', 'map', 'recallAt1', 'trainMs'];
// Rows as the results contract reads them: numbers, null for an empty field.
const row = (cell: string, map: number | null, recall = 0.8, trainMs = 1000) => ({
  experiment: 'ci',
  cell,
  dataset: 'synthetic',
  loss: 'smooth-ap',
  'loss.params.tau': 0.01,
  seed: 0,
  map,
  recallAt1: recall,
  trainMs,
});

describe('compareRuns', () => {
  const metrics = trackedMetrics(header, ['loss.params.tau']);

  it('tracks metrics but not identity, swept or timing columns', () => {
    expect(metrics).toEqual(['map', 'recallAt1']);
  });

  it('passes an unchanged run even when timing differs', () => {
    const rows = compareRuns([row('a', 0.5)], [row('a', 0.5, 0.8, 999999)], metrics, {});
    expect(failed(rows)).toEqual([]);
    expect(rows.map((r) => r.metric)).toEqual(['map', 'recallAt1']);
  });

  it('catches a 1% change in mAP with the default tolerance, allows float noise', () => {
    const onePct = compareRuns([row('a', 0.5)], [row('a', 0.5 * 1.01)], metrics, {});
    expect(failed(onePct)).toHaveLength(1);
    expect(failed(onePct)[0]).toMatchObject({ cell: 'a', metric: 'map', verdict: 'CHANGED', baseline: 0.5 });
    expect(failed(onePct)[0]!.diff).toBeCloseTo(0.005, 12);
    const noise = compareRuns([row('a', 0.5)], [row('a', 0.5 + 1e-7)], metrics, {});
    expect(failed(noise)).toEqual([]);
    expect(DEFAULT_TOLERANCE.abs + DEFAULT_TOLERANCE.rel * 0.5).toBeLessThan(0.005);
  });

  it('uses per-metric tolerances, then "*", then the default', () => {
    const base = [row('a', 0.5, 0.8)];
    const cur = [row('a', 0.51, 0.81)];
    const loose = compareRuns(base, cur, metrics, { map: { abs: 0.02, rel: 0 } });
    expect(failed(loose).map((r) => r.metric)).toEqual(['recallAt1']);
    const star = compareRuns(base, cur, metrics, { '*': { abs: 0.02, rel: 0 } });
    expect(failed(star)).toEqual([]);
  });

  it('reports a missing baseline cell and a new cell', () => {
    const rows = failed(compareRuns([row('a', 0.5), row('b', 0.5)], [row('a', 0.5), row('c', 0.5)], metrics, {}));
    expect(rows.map((r) => `${r.cell}:${r.verdict}`).sort()).toEqual(['b:MISSING', 'c:NEW']);
  });

  it('treats a metric that became empty or NaN as changed', () => {
    expect(failed(compareRuns([row('a', 0.5)], [row('a', null)], metrics, {}))).toHaveLength(1);
    expect(failed(compareRuns([row('a', 0.5)], [row('a', NaN)], metrics, {}))).toHaveLength(1);
    expect(failed(compareRuns([row('a', NaN)], [row('a', NaN)], metrics, {}))).toHaveLength(0);
  });
});

describe('cellKey', () => {
  it('names a cell by dataset, loss, swept values and seed, not by its config hash', () => {
    const a = row('hash-1', 0.5);
    const b = row('hash-2', 0.5);
    expect(cellKey(a, ['loss.params.tau'])).toBe('synthetic smooth-ap loss.params.tau=0.01 seed=0');
    const rows = compareRuns([a], [b], ['map'], {}, (r) => cellKey(r, ['loss.params.tau']));
    expect(failed(rows)).toEqual([]);
    const moved = compareRuns([a], [{ ...b, 'loss.params.tau': 0.1 }], ['map'], {}, (r) => cellKey(r, ['loss.params.tau']));
    expect(
      failed(moved)
        .map((r) => r.verdict)
        .sort(),
    ).toEqual(['MISSING', 'NEW']);
  });
});
