import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinDatasets } from '../../src/data/index.js';
import { synthetic } from '../../src/data/synthetic.js';
import type { DatasetPlugin } from '../../src/data/types.js';
import { runTuning } from '../../src/tuning/driver.js';
import { tuningSection } from '../../src/tuning/report.js';
import { tempDir, writeYaml } from '../experiments/helpers.js';

/**
 * The synthetic data behind a guard: reading a loaded dataset's `test` while the guard is armed
 * throws (and is counted), so a tuning run that finishes proves it never opened the test split.
 */
let armed = false;
let readsWhileArmed = 0;
let readsAfter = 0;
const tripwire: DatasetPlugin = {
  name: 'tripwire-synthetic',
  description: 'synthetic data whose test split may not be read while armed',
  params: synthetic.params,
  async load(params, opts) {
    const data = await synthetic.load(params, opts);
    const test = data.test;
    return Object.defineProperty({ ...data }, 'test', {
      enumerable: true,
      get() {
        if (armed) {
          readsWhileArmed++;
          throw new Error('the test split was read while tuning');
        }
        readsAfter++;
        return test;
      },
    });
  },
};
builtinDatasets.push(tripwire);
afterAll(() => {
  builtinDatasets.splice(builtinDatasets.indexOf(tripwire), 1);
});

const yaml = (budget: number, dataset = 'tripwire-synthetic', extra = ''): string => `
base:
  dataset: { name: ${dataset}, params: { classes: 36, perClass: 4, dim: 12, superClasses: 3 } }
  train: { model: mlp, embeddingDim: 8, hidden: 16, iterations: 3, batchSize: 12, perClass: 2, logEvery: 3 }
  loss: { name: smooth-ap }
  eval: { k: [1], estimateBatches: 1 }
seeds: [0, 1]
tune:
  budget: ${budget}
  strategy: tpe
  initial: 2
  folds: 3
  seed: 4
  losses:
    smooth-ap:
      loss.params.tau: { min: 0.001, max: 0.5, log: true }
    triplet:
      loss.params.margin: { min: 0.01, max: 0.5, log: true }
${extra}`;

const csv = (path: string): Record<string, string>[] => parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];

describe('tuning run', () => {
  const dir = tempDir();
  const results = join(dir, 'results');
  const opts = { resultsDir: results, jobs: 1, progress: 'none' as const };

  it('never reads the test split while tuning, then chooses the best mean validation objective and runs it on test', async () => {
    const file = writeYaml(dir, 'fair', yaml(3));
    const r = await runTuning(file, { ...opts, onPhase: (p) => (armed = p === 'tuning') });
    armed = false;
    expect(readsWhileArmed).toBe(0);
    expect(readsAfter).toBeGreaterThan(0); // the guard does fire on the test phase's reads
    expect(r.trials).toHaveLength(6);
    expect(r.outputs).not.toBeNull();

    // best.json against an independent reading of tuning.csv: mean over folds per trial, argmax.
    const rows = csv(join(results, 'fair', 'tuning.csv'));
    expect(rows).toHaveLength(6 * 3);
    const best = JSON.parse(readFileSync(join(results, 'fair', 'best.json'), 'utf8')) as {
      chosen: Array<{ loss: string; trial: number; values: Record<string, number>; meanObjective: number }>;
    };
    for (const loss of ['smooth-ap', 'triplet']) {
      const byTrial = new Map<string, number[]>();
      for (const row of rows.filter((x) => x.loss === loss)) byTrial.set(row.trial!, [...(byTrial.get(row.trial!) ?? []), Number(row.mapAtR)]);
      const means = [...byTrial].map(([t, xs]) => [Number(t), xs.reduce((a, b) => a + b, 0) / xs.length] as const);
      expect(means.every(([, m]) => Number.isFinite(m))).toBe(true);
      const top = means.reduce((a, b) => (b[1] > a[1] ? b : a));
      const chosen = best.chosen.find((c) => c.loss === loss)!;
      expect(chosen.trial).toBe(top[0]);
      expect(chosen.meanObjective).toBeCloseTo(top[1], 12);
      const key = loss === 'smooth-ap' ? 'loss.params.tau' : 'loss.params.margin';
      expect(String(chosen.values[key])).toBe(rows.find((x) => x.loss === loss && Number(x.trial) === top[0])![key]);
      // The test runs use exactly the chosen values, one per seed, marked as test runs.
      const test = csv(join(results, 'fair', 'results.csv')).filter((x) => x.loss === loss);
      expect(test.map((x) => [x.run, x.seed, x[key]])).toEqual([
        ['test', '0', String(chosen.values[key])],
        ['test', '1', String(chosen.values[key])],
      ]);
    }
    // Untrained baseline rows, one per seed; per-class rows of every final run.
    const res = csv(join(results, 'fair', 'results.csv'));
    expect(res.filter((x) => x.run === 'untrained').map((x) => x.seed)).toEqual(['0', '1']);
    const perClass = csv(join(results, 'fair', 'perclass.csv'));
    for (const row of res.filter((x) => x.run === 'test')) {
      const mine = perClass.filter((p) => p.cell === row.cell);
      expect(mine).toHaveLength(18); // the 18 test classes of a 36-class, half-train split
      // Query-weighted mean of per-class AP is the run's mAP.
      const q = mine.reduce((a, p) => a + Number(p.queries), 0);
      expect(mine.reduce((a, p) => a + Number(p.ap) * Number(p.queries), 0) / q).toBeCloseTo(Number(row.map), 10);
    }
  }, 120_000);

  it('the report section shows the search, the chosen values, the test table, the verdicts and the fairness panel', () => {
    const html = tuningSection(results, 'fair')!;
    const best = JSON.parse(readFileSync(join(results, 'fair', 'best.json'), 'utf8')) as { chosen: Array<{ loss: string; values: Record<string, number> }> };
    expect(html.match(/<polyline /g)).toHaveLength(2); // best-so-far: one line per loss
    for (const c of best.chosen) for (const [k, v] of Object.entries(c.values)) expect(html).toContain(`${k} = ${v}`);
    const testTable = html.slice(html.indexOf('class="test-table"'));
    for (const loss of ['smooth-ap', 'triplet', 'untrained']) expect(testTable).toContain(`<td>${loss}</td>`);
    expect(html).toContain('smooth-ap − triplet');
    expect(html).toMatch(/<td>train\.embeddingDim<\/td><td>shared<\/td><td>8<\/td>/);
    expect(html).not.toContain('fairness-flag'); // nothing differs between the two losses here
  });

  it('a rerun with a larger budget reuses every finished trial and continues after them', async () => {
    const before = csv(join(results, 'fair', 'tuning.csv'));
    const mtimes = new Map(before.map((x) => [x.cell!, statSync(join(results, 'fair', 'cells', `${x.cell}.json`)).mtimeMs]));
    const file = writeYaml(dir, 'fair', yaml(5));
    const r = await runTuning(file, opts);
    const after = csv(join(results, 'fair', 'tuning.csv'));
    expect(after).toHaveLength(10 * 3);
    // The first three trials of each loss are the same proposals, the same cells, untouched on disk.
    for (const row of before) {
      const again = after.find((x) => x.loss === row.loss && x.trial === row.trial && x.fold === row.fold)!;
      expect(again).toEqual(row);
      expect(statSync(join(results, 'fair', 'cells', `${row.cell}.json`)).mtimeMs).toBe(mtimes.get(row.cell!));
    }
    expect(r.ran).toBeGreaterThanOrEqual(2 * 2 * 3); // the four new trials × three folds ran
    expect(r.reused).toBeGreaterThanOrEqual(18);
  }, 120_000);
});

describe('tuning refuses what would read the test classes', () => {
  const dir = tempDir();
  const run = (text: string) => runTuning(writeYaml(dir, 'bad', text), { resultsDir: join(dir, 'results'), jobs: 1, progress: 'none' });

  it('a closed-set split, naming the key that set it', async () => {
    await expect(run(yaml(2, 'synthetic').replace('superClasses: 3', 'superClasses: 3, split: closed-set'))).rejects.toThrow(
      /bad\.yaml: base\.dataset\.params\.split: "closed-set" puts the test classes in the train split/,
    );
    const mnist = `${yaml(2, 'synthetic')}datasets:\n  - { name: mnist, params: { perClassLimit: 20 } }\n`;
    await expect(run(mnist)).rejects.toThrow(/datasets\[0\]\.params\.split \(the default of dataset mnist\): "closed-set"/);
  });

  it('a tuned dataset key, an objective on test, a sweep', async () => {
    await expect(
      run(yaml(2, 'synthetic').replace('loss.params.margin: {', 'dataset.params.trainFraction: { min: 0.3, max: 0.7 }\n      loss.params.margin: {')),
    ).rejects.toThrow(/tune\.losses\.triplet\.dataset\.params\.trainFraction: cannot be tuned: the dataset decides which classes are held out/);
    await expect(run(yaml(2, 'synthetic').replace('  seed: 4', '  seed: 4\n  objective: testMapAtR'))).rejects.toThrow(
      /tune\.objective: "testMapAtR" is not allowed; expected one of mapAtR/,
    );
    await expect(run(`${yaml(2, 'synthetic')}sweep: { grid: { train.lr: [0.01, 0.001] } }\n`)).rejects.toThrow(/sweep: not allowed with tune/);
  });

  it('a split file that puts classes on both sides, found when the data are loaded', async () => {
    // 6 classes × 4 rows; each class has rows in train and in test: closed-set, whatever `split` says.
    const lines = ['f0,f1,f2,label,part'];
    for (let c = 0; c < 6; c++) for (let k = 0; k < 4; k++) lines.push(`${Math.cos(c + k)},${Math.sin(c * k)},${c / 6},${c},${k < 2 ? 'train' : 'test'}`);
    writeFileSync(join(dir, 'feats.csv'), lines.join('\n') + '\n');
    const text = yaml(2, 'features')
      .replace('params: { classes: 36, perClass: 4, dim: 12, superClasses: 3 }', 'params: { path: feats.csv, splitColumn: part }')
      .replace('batchSize: 12', 'batchSize: 4');
    await expect(run(text)).rejects.toThrow(/dataset features: its split is closed-set \(test classes also in train\), so tuning would read the test classes/);
  });

  it("ranges outside the parameter's own, log scale below zero, unknown parameters", async () => {
    await expect(run(yaml(2, 'synthetic').replace('min: 0.001, max: 0.5, log: true', 'min: 0, max: 0.5'))).rejects.toThrow(
      /tune\.losses\.smooth-ap\.loss\.params\.tau\.min: 0 is not allowed for loss\.params\.tau; expected a number > 0/,
    );
    await expect(run(yaml(2, 'synthetic').replace('loss.params.margin: { min: 0.01', 'loss.params.margin: { min: 0'))).rejects.toThrow(
      /tune\.losses\.triplet\.loss\.params\.margin\.min: 0 is not allowed with log: true; expected a value > 0/,
    );
    await expect(run(yaml(2, 'synthetic').replace('loss.params.margin:', 'loss.params.tau:'))).rejects.toThrow(
      /tune\.losses\.triplet\.loss\.params\.tau: unknown parameter of loss triplet; allowed: margin, mining/,
    );
  });
});
