import { describe, expect, it } from 'vitest';
import { checkCellFits, loadDatasetCached } from '../../src/experiments/cell.js';
import { experimentNames } from '../../src/experiments/file.js';
import { loadExperiment } from '../../src/experiments/load.js';
import { createLossRegistry } from '../../src/losses/index.js';

const registry = createLossRegistry();
const load = (name: string) => loadExperiment(name, { registry });
const values = (name: string, pick: (c: ReturnType<typeof load>['cells'][number]) => unknown): unknown[] => [...new Set(load(name).cells.map(pick))];

describe('shipped experiments', () => {
  it('are all there', () => {
    expect(experimentNames()).toEqual(expect.arrayContaining(['ablation-tau', 'ablation-p', 'ablation-batch', 'ap-estimate', 'compare-losses', 'ci']));
  });

  for (const name of ['ablation-tau', 'ablation-p', 'ablation-batch', 'ap-estimate', 'compare-losses']) {
    it(`${name} runs on synthetic and mnist with three seeds`, () => {
      const { cells } = load(name);
      expect(values(name, (c) => c.config.dataset.name).sort()).toEqual(['mnist', 'synthetic']);
      for (const ds of ['synthetic', 'mnist']) {
        expect(new Set(cells.filter((c) => c.config.dataset.name === ds).map((c) => c.config.seed)).size).toBeGreaterThanOrEqual(3);
      }
    });
  }

  it('sweep the values the paper ablates', () => {
    expect(values('ablation-tau', (c) => c.config.loss.params.tau)).toEqual([1, 0.1, 0.05, 0.01, 0.005, 0.001]);
    expect(values('ablation-p', (c) => c.config.train.perClass)).toEqual([2, 4, 8, 16, 32]);
    expect(values('ablation-batch', (c) => c.config.train.batchSize)).toEqual([32, 64, 128, 224, 384, 1024]);
    // ablation-p at a fixed B and ablation-batch at a fixed P, per dataset.
    for (const ds of ['synthetic', 'mnist']) {
      expect(
        new Set(
          load('ablation-p')
            .cells.filter((c) => c.config.dataset.name === ds)
            .map((c) => c.config.train.batchSize),
        ).size,
      ).toBe(1);
      expect(
        new Set(
          load('ablation-batch')
            .cells.filter((c) => c.config.dataset.name === ds)
            .map((c) => c.config.train.perClass),
        ).size,
      ).toBe(1);
    }
    expect(values('compare-losses', (c) => c.config.loss.name).sort()).toEqual(['blackbox-ap', 'fast-ap', 'smooth-ap', 'triplet']);
    const budgets = values('compare-losses', (c) => JSON.stringify(c.config.train));
    expect(budgets.length).toBe(2); // one per dataset: every loss gets the same training
    const est = load('ap-estimate').cells;
    expect(new Set(est.map((c) => c.config.train.iterations))).toEqual(new Set([0, 100, 300]));
    // Fixed embeddings: one training loss everywhere; only the estimator varies.
    expect(new Set(est.map((c) => JSON.stringify(c.config.loss)))).toEqual(
      new Set([JSON.stringify({ name: 'smooth-ap', params: est[0]!.config.loss.params })]),
    );
    expect(new Set(est.filter((c) => c.config.estimator?.name === 'fast-ap').map((c) => c.config.estimator!.params.bins)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(est.filter((c) => c.config.estimator?.name === 'smooth-ap').map((c) => c.config.estimator!.params.tau)).size).toBeGreaterThanOrEqual(3);
  });

  it('ci is small, one seed, with tolerances that catch a 1% move of mAP', () => {
    const { cells, experiment } = load('ci');
    expect(cells.length).toBeLessThanOrEqual(6);
    expect(experiment.seeds).toEqual([0]);
    expect(experiment.tolerances.map!.abs).toBeLessThanOrEqual(1e-3);
    expect(experiment.tolerances.map!.rel).toBeLessThanOrEqual(1e-3);
  });

  it('every cell of every shipped experiment can form its batches', async () => {
    for (const name of experimentNames()) {
      for (const cell of load(name).cells) {
        const data = await loadDatasetCached(cell.config.dataset, cell.config.seed);
        expect(() => checkCellFits(cell.config, data, registry.get(cell.config.loss.name)), `${name} ${cell.id}`).not.toThrow();
      }
    }
  });
});
