import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { loadExperiment } from '../../src/experiments/load.js';
import { runExperiment } from '../../src/experiments/runner.js';
import type { CellResult } from '../../src/experiments/types.js';
import { createLossRegistry } from '../../src/losses/index.js';
import { tempDir, writeYaml } from './helpers.js';

const dir = tempDir();
const registry = createLossRegistry();
const quiet = { progress: 'none' as const, command: 'bench run test' };

const BASE = `
base:
  dataset: { name: synthetic, params: { classes: 24, perClass: 4, dim: 8 } }
  train: { model: linear, embeddingDim: 8, iterations: 6, batchSize: 16, perClass: 2, logEvery: 2 }
  loss: { name: smooth-ap, params: { tau: 0.01 } }
  eval: { k: [1, 4], estimateBatches: 3 }
seeds: [0]
`;

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

function cellsOf(resultsDir: string, experiment: string, ids: string[]): CellResult[] {
  return ids.map((id) => JSON.parse(readFileSync(join(resultsDir, experiment, 'cells', `${id}.json`), 'utf8')) as CellResult);
}

describe('estimator: an AP estimator apart from the training loss', () => {
  it('leaves cells without an estimator as they were (no key in the config, so the same id)', () => {
    const { cells } = loadExperiment(writeYaml(dir, 'plain', BASE), { registry });
    expect(cells).toHaveLength(1);
    expect('estimator' in cells[0]!.config).toBe(false);
    expect(JSON.stringify(cells[0]!.config)).not.toContain('estimator');
  });

  it('sweeps estimator.name / estimator.params.<p> as columns; the loss stays the training loss', () => {
    const text = `${BASE}
sweep:
  list:
    - { estimator.name: smooth-ap, estimator.params.tau: 0.1 }
    - { estimator.name: fast-ap, estimator.params.bins: 10 }
`;
    const { experiment, cells } = loadExperiment(writeYaml(dir, 'swept', text), { registry });
    expect(experiment.swept).toEqual(['estimator.name', 'estimator.params.tau', 'estimator.params.bins']);
    expect(cells.map((c) => c.config.loss)).toEqual([
      { name: 'smooth-ap', params: cells[0]!.config.loss.params },
      { name: 'smooth-ap', params: cells[0]!.config.loss.params },
    ]);
    expect(cells.map((c) => c.swept)).toEqual([
      { 'estimator.name': 'smooth-ap', 'estimator.params.tau': 0.1, 'estimator.params.bins': null },
      { 'estimator.name': 'fast-ap', 'estimator.params.tau': null, 'estimator.params.bins': 10 },
    ]);
    expect(new Set(cells.map((c) => c.id)).size).toBe(2);
  });

  it('rejects a bad estimator with a one-line error naming the key path', () => {
    const load = (name: string, extra: string): Error => {
      const e = errorOf(() => loadExperiment(writeYaml(dir, name, `${BASE}${extra}`), { registry }));
      expect(e).toBeInstanceOf(UserError);
      expect(e.message).not.toContain('\n');
      return e;
    };
    expect(load('bad-name', 'sweep:\n  list:\n    - { estimator.name: smooth-apx }\n').message).toMatch(
      /bad-name\.yaml: sweep\.list\[0\]\.estimator\.name: unknown estimator "smooth-apx"; available: .*smooth-ap/,
    );
    expect(load('bad-param', 'sweep:\n  list:\n    - { estimator.name: fast-ap, estimator.params.tau: 0.1 }\n').message).toMatch(
      /bad-param\.yaml: sweep\.list\[0\]\.estimator\.params\.tau: unknown parameter of estimator fast-ap; allowed: .*bins/,
    );
    expect(load('bad-value', 'sweep:\n  list:\n    - { estimator.name: smooth-ap, estimator.params.tau: fast }\n').message).toMatch(
      /bad-value\.yaml: sweep\.list\[0\]\.estimator\.params\.tau: "fast" is not allowed; expected a number/,
    );
    expect(load('no-ap', 'sweep:\n  list:\n    - { estimator.name: triplet }\n').message).toMatch(
      /no-ap\.yaml: sweep\.list\[0\]\.estimator\.name: loss "triplet" reports no AP estimate \(no apConvention\); expected one of .*smooth-ap/,
    );
    expect(load('no-name', 'sweep:\n  list:\n    - { estimator.params.tau: 0.1 }\n').message).toMatch(
      /no-name\.yaml: sweep\.list\[0\]\.estimator\.params\.tau: estimator\.name is not set/,
    );
    expect(load('bad-key', 'sweep:\n  list:\n    - { estimator.tau: 0.1 }\n').message).toMatch(
      /sweep\.list\[0\]\.estimator\.tau: unknown key; expected estimator\.name or estimator\.params\.<param>/,
    );
  });

  it('changes only the AP estimate: every estimator of one stage and seed sees the same embeddings', async () => {
    const resultsDir = join(dir, 'results');
    const plain = await runExperiment(writeYaml(dir, 'est-plain', `${BASE}\nsweep:\n  grid:\n    train.iterations: [0, 6]\n`), {
      ...quiet,
      resultsDir,
    });
    const text = `${BASE}
sweep:
  grid:
    train.iterations: [0, 6]
  list:
    - { estimator.name: smooth-ap, estimator.params.tau: 0.01 }
    - { estimator.name: smooth-ap, estimator.params.tau: 1 }
    - { estimator.name: fast-ap, estimator.params.bins: 10 }
    - { estimator.name: fast-ap, estimator.params.bins: 40 }
`;
    const est = await runExperiment(writeYaml(dir, 'est', text), { ...quiet, resultsDir });
    const plainCells = cellsOf(
      resultsDir,
      'est-plain',
      plain.cells.map((c) => c.id),
    );
    const estCells = cellsOf(
      resultsDir,
      'est',
      est.cells.map((c) => c.id),
    );
    expect(estCells).toHaveLength(8);
    for (const stage of [0, 6]) {
      const ref = plainCells.find((c) => c.config.train.iterations === stage)!;
      const group = estCells.filter((c) => c.config.train.iterations === stage);
      expect(group).toHaveLength(4);
      for (const c of group) {
        // The same training (loss, config, seed) whatever the estimator: identical numbers.
        expect(c.loss).toBe('smooth-ap');
        expect(c.metrics).toEqual(ref.metrics);
        expect(c.untrained).toEqual(ref.untrained);
        expect(c.curve).toEqual(ref.curve);
        expect(c.apEstimate).not.toBeNull();
        expect(c.apEstimate!.gap).toBeCloseTo(c.apEstimate!.estimate - c.apEstimate!.trueAP, 12);
      }
      // The estimator equal to the training loss reproduces the cell without an estimator.
      const same = group.find((c) => c.config.estimator!.name === 'smooth-ap' && c.config.estimator!.params.tau === 0.01)!;
      expect(same.apEstimate).toEqual(ref.apEstimate);
      // Exact AP on the same batches depends only on the query convention.
      for (const a of group) {
        for (const b of group) {
          if (a.apEstimate!.includeQuery === b.apEstimate!.includeQuery) expect(a.apEstimate!.trueAP).toBe(b.apEstimate!.trueAP);
        }
      }
      // Different estimators do estimate differently (the estimate is the estimator's, not the loss's).
      expect(new Set(group.map((c) => c.apEstimate!.estimate)).size).toBe(4);
    }
    const header = readFileSync(join(resultsDir, 'est', 'results.csv'), 'utf8').split('\n')[0]!;
    expect(header.startsWith('experiment,cell,dataset,loss,train.iterations,estimator.name,estimator.params.tau,estimator.params.bins,seed,')).toBe(true);
  });
});
