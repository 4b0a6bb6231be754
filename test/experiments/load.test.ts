import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filterCells, loadExperiment } from '../../src/experiments/load.js';
import type { CellConfig } from '../../src/experiments/types.js';
import { fixtureRegistry, tempDir, writeYaml, BASE_EXPERIMENT, userErrorOf } from './helpers.js';

const registry = fixtureRegistry();
const dir = tempDir();

const BASE = BASE_EXPERIMENT;

function load(name: string, text: string, extra: Omit<Parameters<typeof loadExperiment>[1], 'registry'> = {}) {
  return loadExperiment(writeYaml(dir, name, text), { registry, ...extra });
}

/** Independent id: sorted-key JSON by a replacer, hashed. */
/** The id rankbench must give: sha256 over configuration, version, data digests and plugin digests. */
function expectedId(cfg: CellConfig, version: string): string {
  return sha12({ config: cfg, data: [], plugins: {}, rankbench: version });
}

function sha12(v: unknown): string {
  const sorted = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.keys(v as object)
          .sort()
          .reduce<Record<string, unknown>>((o, k) => ((o[k] = sorted((v as Record<string, unknown>)[k])), o), {})
      : Array.isArray(v)
        ? v.map(sorted)
        : v;
  return createHash('sha256')
    .update(JSON.stringify(sorted(v)))
    .digest('hex')
    .slice(0, 12);
}

const errorOf = userErrorOf;

describe('grid expansion', () => {
  const text = `${BASE}
seeds: [0, 1]
datasets:
  - { name: synthetic, params: { noise: 0.5 } }
  - { name: synthetic, params: { noise: 2 } }
sweep:
  grid:
    loss.params.tau: [1, 0.1, 0.01]
    train.batchSize: [8, 16]
  list:
    - { loss.params.flag: true }
    - { loss.params.flag: false, train.lr: 0.01 }
`;
  const { cells, experiment } = load('grid', text);

  it('is datasets × grid × list × seeds, each combination exactly once', () => {
    expect(cells).toHaveLength(2 * 3 * 2 * 2 * 2);
    const want: string[] = [];
    for (const noise of [0.5, 2])
      for (const tau of [1, 0.1, 0.01])
        for (const b of [8, 16])
          for (const [flag, lr] of [
            [true, 0.001],
            [false, 0.01],
          ])
            for (const seed of [0, 1]) want.push(JSON.stringify([noise, tau, b, flag, lr, seed]));
    const got = cells.map((c) =>
      JSON.stringify([
        c.config.dataset.params.noise,
        c.config.loss.params.tau,
        c.config.train.batchSize,
        c.config.loss.params.flag,
        c.config.train.lr,
        c.config.seed,
      ]),
    );
    expect(got).toEqual(want);
  });

  it('keeps base values that no layer overrides, and fills defaults', () => {
    for (const c of cells) {
      expect(c.config.dataset.params.classes).toBe(40);
      expect(c.config.train.model).toBe('linear');
      expect(c.config.train.perClass).toBe(2);
      expect(c.config.eval).toEqual({ k: [1, 2, 4, 8], estimateBatches: 4 });
      expect(c.config.dataset.params.superClasses).toBe(12);
    }
  });

  it('names the swept columns: grid and list key paths, then dataset parameters that vary', () => {
    expect(experiment.swept).toEqual(['loss.params.tau', 'train.batchSize', 'loss.params.flag', 'train.lr', 'dataset.params.noise']);
    expect(cells[5]!.swept).toEqual({
      'loss.params.tau': cells[5]!.config.loss.params.tau,
      'train.batchSize': cells[5]!.config.train.batchSize,
      'loss.params.flag': cells[5]!.config.loss.params.flag,
      'train.lr': cells[5]!.config.train.lr,
      'dataset.params.noise': cells[5]!.config.dataset.params.noise,
    });
  });

  it('gives every cell a distinct id: sha256 of its sorted-key JSON with its inputs, 12 hex digits', () => {
    expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length);
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    for (const c of cells) {
      expect(c.id).toMatch(/^[0-9a-f]{12}$/);
      expect(c.id).toBe(expectedId(c.config, version));
      expect(c.configId).toBe(sha12(c.config));
      expect(c.inputs).toEqual({ rankbench: version, data: {}, plugins: {} });
    }
  });

  it('ids do not depend on key order in the file, nor on writing a default out', () => {
    const reordered = `
seeds: [0, 1]
sweep:
  list:
    - { loss.params.flag: true, loss.params.tau: 0.01 }
    - { train.lr: 0.01, loss.params.flag: false, loss.params.tau: 0.01 }
  grid:
    train.batchSize: [8, 16]
datasets:
  - { params: { noise: 0.5 }, name: synthetic }
  - { params: { noise: 2 }, name: synthetic }
base:
  loss: { params: { tau: 0.05 }, name: fake-ap }
  train: { perClass: 2, batchSize: 8, iterations: 3, embeddingDim: 4, model: linear, lr: 0.001 }
  dataset: { params: { dim: 8, perClass: 4, classes: 40, superClasses: 12 }, name: synthetic }
`;
    const other = load('reordered', reordered).cells;
    const tau001 = cells
      .filter((c) => c.config.loss.params.tau === 0.01)
      .map((c) => c.id)
      .sort();
    expect(other.map((c) => c.id).sort()).toEqual(tau001);
  });

  it('ids change with any value, including the seed and a dataset parameter', () => {
    const a = load('one', `${BASE}\nseeds: [3]\n`).cells[0]!;
    const b = load('two', `${BASE}\nseeds: [4]\n`).cells[0]!;
    const c = load('three', BASE.replace('dim: 8', 'dim: 9')).cells[0]!;
    const d = load('four', BASE.replace('tau: 0.05', 'tau: 0.050001')).cells[0]!;
    expect(new Set([a.id, b.id, c.id, d.id]).size).toBe(4);
  });
});

describe('layers', () => {
  it('a list entry that switches the loss drops the base loss parameters', () => {
    const { cells } = load(
      'switch',
      `${BASE}\nsweep:\n  list:\n    - { loss.name: fake-ap }\n    - { loss.name: fake-margin, loss.params.margin: 0.3 }\n    - { loss.name: fake-margin }\n`,
    );
    expect(cells.map((c) => c.config.loss)).toEqual([
      { name: 'fake-ap', params: { tau: 0.05, flag: true } },
      { name: 'fake-margin', params: { margin: 0.3 } },
      { name: 'fake-margin', params: { margin: 0.1 } },
    ]);
  });

  it('a datasets entry can set other key paths for its cells only', () => {
    const { cells } = load(
      'perds',
      `${BASE}\ndatasets:\n  - { name: synthetic }\n  - { name: mnist, params: { perClassLimit: 20 }, set: { train.perClass: 4, train.model: mlp } }\n`,
    );
    expect(cells.map((c) => [c.config.dataset.name, c.config.train.perClass, c.config.train.model])).toEqual([
      ['synthetic', 2, 'linear'],
      ['mnist', 4, 'mlp'],
    ]);
    // mnist does not inherit synthetic's parameters from the base.
    expect(cells[1]!.config.dataset.params).not.toHaveProperty('classes');
    expect(cells[1]!.config.dataset.params.perClassLimit).toBe(20);
  });

  it('exclude drops matching cells before their B/P is checked', () => {
    const { cells } = load(
      'exclude',
      `${BASE}\nsweep:\n  grid:\n    train.perClass: [2, 3, 4]\n    train.batchSize: [8, 12]\n  exclude:\n    - { train.perClass: 3, train.batchSize: 8 }\n    - { train.perClass: 4, train.batchSize: 12 }\n    - { train.perClass: 2, seed: 0 }\n`,
    );
    expect(cells.map((c) => [c.config.train.perClass, c.config.train.batchSize])).toEqual([
      [3, 12],
      [4, 8],
    ]);
  });

  it('--seeds, --dataset and --set override the file', () => {
    const text = `${BASE}\nseeds: [0, 1, 2]\ndatasets:\n  - { name: synthetic, params: { noise: 0.5 } }\n  - { name: mnist, set: { train.perClass: 4 } }\nsweep:\n  grid:\n    loss.params.tau: [0.1, 0.01]\n`;
    const { cells, experiment } = load('over', text, { seeds: [7], dataset: ['mnist'], set: { 'train.lr': '0.05', 'loss.params.tau': '0.2' } });
    // --set pins the swept tau: both grid values collapse into one cell.
    expect(cells.map((c) => [c.config.dataset.name, c.config.seed, c.config.train.lr, c.config.loss.params.tau, c.config.train.perClass])).toEqual([
      ['mnist', 7, 0.05, 0.2, 4],
    ]);
    expect(experiment.overrides).toEqual({ seeds: [7], dataset: ['mnist'], set: { 'train.lr': '0.05', 'loss.params.tau': '0.2' } });
  });

  it('--only keeps matching cells: same key = either value, different keys = both', () => {
    const { cells } = load('only', `${BASE}\nseeds: [0, 1]\nsweep:\n  grid:\n    loss.params.tau: [1, 0.1, 0.01]\n`);
    const kept = filterCells(cells, { 'loss.params.tau': ['1', '0.01'], seed: ['1'] });
    expect(kept.map((c) => [c.config.loss.params.tau, c.config.seed])).toEqual([
      [1, 1],
      [0.01, 1],
    ]);
    expect(errorOf(() => filterCells(cells, { 'loss.params.tau': ['0.5'] })).message).toMatch(
      /--only loss\.params\.tau=0\.5: no cell has this value; values: 1, 0\.1, 0\.01/,
    );
    expect(errorOf(() => filterCells(cells, { 'train.batchSze': ['8'] })).message).toMatch(/--only train\.batchSze: unknown key/);
  });
});

describe('config errors name the file, the key path and what is allowed', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'unknown key',
      BASE.replace('batchSize: 8', 'batchSze: 8'),
      /base\.train\.batchSze: unknown key; allowed: model, embeddingDim, hidden, lr, weightDecay, iterations, batchSize, perClass, withReplacement, logEvery$/,
    ],
    [
      'unknown top-level key',
      `${BASE}\nsweeps: {}\n`,
      /: sweeps: unknown key; allowed: description, base, seeds, datasets, sweep, tolerances, report, claims, tune$/,
    ],
    ['wrong type', BASE.replace('iterations: 3', 'iterations: "3"'), /base\.train\.iterations: "3" is not allowed; expected an integer >= 0$/],
    ['wrong type of a list', `${BASE}\nseeds: 3\n`, /: seeds: 3 is not allowed; expected a list of integers >= 0$/],
    ['unknown loss', BASE.replace('name: fake-ap', 'name: smooth-pa'), /base\.loss\.name: unknown loss "smooth-pa"; available: fake-ap, fake-margin$/],
    [
      'unknown dataset',
      `${BASE}\ndatasets:\n  - { name: synthetic }\n  - { name: cifar }\n`,
      /datasets\[1\]\.name: unknown dataset "cifar"; available: synthetic, mnist/,
    ],
    ['unknown loss parameter', BASE.replace('tau: 0.05', 'tua: 0.05'), /base\.loss\.params\.tua: unknown parameter of loss fake-ap; allowed: tau, flag$/],
    [
      'out-of-range parameter in a sweep',
      `${BASE}\nsweep:\n  grid:\n    loss.params.tau: [0.1, 0]\n`,
      /sweep\.grid\.loss\.params\.tau: 0 is not allowed; expected a number > 0$/,
    ],
    ['out-of-range dataset parameter', BASE.replace('classes: 40', 'classes: 1'), /base\.dataset\.params\.classes: 1 is not allowed; expected an integer >= 2/],
    [
      'P not dividing B',
      `${BASE}\nsweep:\n  grid:\n    train.perClass: [2, 3]\n`,
      /sweep\.grid\.train\.perClass: 3 does not divide train\.batchSize 8; expected a divisor of 8/,
    ],
    [
      'B not a multiple of P',
      `${BASE}\nsweep:\n  list:\n    - { train.batchSize: 9 }\n`,
      /sweep\.list\[0\]\.train\.batchSize: 9 is not a multiple of train\.perClass 2/,
    ],
    [
      'unknown key path in a sweep',
      `${BASE}\nsweep:\n  grid:\n    loss.tau: [1]\n`,
      /sweep\.grid\.loss\.tau: unknown key; expected loss\.name or loss\.params\.<param>$/,
    ],
    ['seed swept', `${BASE}\nsweep:\n  grid:\n    train.seed: [1, 2]\n`, /sweep\.grid\.train\.seed: unknown key; the training seed comes from "seeds"/],
    ['repeated grid value', `${BASE}\nsweep:\n  grid:\n    loss.params.tau: [0.1, 0.1]\n`, /sweep\.grid\.loss\.params\.tau: \[0\.1,0\.1\] repeats a value/],
    [
      'duplicate cells',
      `${BASE}\nsweep:\n  list:\n    - { loss.params.tau: 0.01 }\n    - { loss.params.tau: 0.01, loss.params.flag: true }\n`,
      /: sweep: two cells have the same configuration/,
    ],
    [
      'unknown tolerance metric',
      `${BASE}\ntolerances:\n  mAP: { abs: 0.001 }\n`,
      /tolerances\.mAP: unknown metric; allowed: map, mapAtR, rPrecision, precisionAt1, recallAt1, recallAt2, recallAt4, recallAt8, untrainedMap, inputMap, inputMapAtR, inputRecallAt1, apEstimate, trueAP, apGap, \*$/,
    ],
    ['negative tolerance', `${BASE}\ntolerances:\n  map: { abs: -1 }\n`, /tolerances\.map\.abs: -1 is not allowed; expected a number >= 0$/],
    ['report.x not swept', `${BASE}\nreport: { x: loss.params.tau }\n`, /report\.x: "loss\.params\.tau" is not a swept column; allowed: dataset, loss$/],
    [
      'bad eval.k',
      `${BASE.replace('  loss:', '  eval: { k: [1, 0] }\n  loss:')}`,
      /base\.eval\.k: \[1,0\] is not allowed; expected a non-empty list of integers >= 1$/,
    ],
    ['missing loss', 'base:\n  dataset: { name: synthetic }\n', /base\.loss: missing/],
    ['YAML syntax', `${BASE}\nseeds: [0, 1\n`, /invalid YAML at line \d+/],
  ];
  for (const [name, text, re] of cases) {
    it(name, () => {
      const path = writeYaml(dir, `bad-${name.replace(/\W+/g, '-')}`, text);
      const e = errorOf(() => loadExperiment(path, { registry }));
      expect(e.message.startsWith(`${path}: `)).toBe(true);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('\n');
    });
  }

  it('--set: unknown key and bad value name the flag', () => {
    const path = writeYaml(dir, 'set', BASE);
    expect(errorOf(() => loadExperiment(path, { registry, set: { 'train.lrate': '1' } })).message).toMatch(
      /^--set train\.lrate: unknown key; allowed: train\.model/,
    );
    expect(errorOf(() => loadExperiment(path, { registry, set: { 'train.lr': 'fast' } })).message).toBe(
      '--set train.lr: "fast" is not allowed; expected a number > 0',
    );
    expect(errorOf(() => loadExperiment(path, { registry, dataset: ['cifar'] })).message).toMatch(/^--dataset: unknown dataset "cifar"/);
  });

  it('an unknown experiment name lists the shipped ones', () => {
    expect(errorOf(() => loadExperiment('no-such-experiment', { registry })).message).toMatch(/^unknown experiment "no-such-experiment"; available: /);
  });
});

describe('tolerances and report pass through', () => {
  it('resolves {abs, rel} with a missing side as 0', () => {
    const { experiment } = load(
      'tol',
      `${BASE}\nsweep:\n  grid:\n    loss.params.tau: [0.1, 0.01]\ntolerances:\n  map: { abs: 1e-4 }\n  recallAt1: { abs: 0.001, rel: 0.01 }\nreport: { x: loss.params.tau, logX: true }\n`,
    );
    expect(experiment.tolerances).toEqual({ map: { abs: 1e-4, rel: 0 }, recallAt1: { abs: 0.001, rel: 0.01 } });
    expect(experiment.report).toEqual({ x: 'loss.params.tau', logX: true });
  });
});
