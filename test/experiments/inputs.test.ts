import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { loadDataset } from '../../src/data/index.js';
import { worseThanInputs } from '../../src/experiments/input-baseline.js';
import { DigestCache } from '../../src/experiments/inputs.js';
import { runExperiment } from '../../src/experiments/runner.js';
import { bruteRetrieval } from '../metrics/oracle.js';
import { tempDir, writeYaml } from './helpers.js';

const quiet = { progress: 'none' as const };
const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** A CSV of features: `classes` classes of `per` rows in `dim` dimensions around class centres. */
function featureCsv(seed: number, classes: number, per: number, dim: number, extra = ''): string {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const rows = [[...Array.from({ length: dim }, (_, j) => `f${j}`), 'label'].join(',')];
  for (let c = 0; c < classes; c++) {
    const centre = Array.from({ length: dim }, rnd);
    for (let i = 0; i < per; i++) rows.push([...centre.map((v) => (v + 0.8 * rnd()).toFixed(5)), String(100 + c)].join(','));
  }
  return rows.join('\n') + '\n' + extra;
}

const EXPERIMENT = (path: string, extra = '') => `
base:
  dataset: { name: features, params: { path: ${path}, split: class-disjoint${extra} } }
  train: { model: linear, embeddingDim: 8, iterations: 6, batchSize: 8, perClass: 2 }
  loss: { name: smooth-ap }
  eval: { k: [1, 2], estimateBatches: 1 }
seeds: [0, 1]
`;

describe('cells that know their inputs', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'data'));
  const csv = join(dir, 'data', 'feats.csv');
  writeFileSync(csv, featureCsv(1, 12, 4, 6));
  // The data path is relative to the experiment file's folder, not to the working directory.
  const file = writeYaml(dir, 'own', EXPERIMENT('data/feats.csv'));
  const resultsDir = join(dir, 'results');

  it("reads a relative path from the experiment file's folder and records the data digest", async () => {
    const r = await runExperiment(file, { ...quiet, resultsDir });
    expect(r.ran).toHaveLength(2);
    expect(r.manifest.inputs!.data).toEqual({ [csv]: sha256(readFileSync(csv)) });
    const again = await runExperiment(file, { ...quiet, resultsDir });
    expect(again.ran).toEqual([]);
    expect(again.reused.sort()).toEqual(r.ran.sort());
  });

  it('makes new cells when the data file changes under the same name, and says why', async () => {
    const before = await runExperiment(file, { ...quiet, resultsDir });
    writeFileSync(csv, featureCsv(2, 12, 4, 6));
    const after = await runExperiment(file, { ...quiet, resultsDir });
    expect(after.ran).toHaveLength(2);
    expect(after.reused).toEqual([]);
    expect(new Set([...after.ran, ...before.reused]).size).toBe(4);
    expect(after.notReused, JSON.stringify(after.notReused)).toEqual([
      expect.stringMatching(new RegExp(`^2 earlier result\\(s\\) not reused: data file ${csv.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} changed since \\d{4}-`)),
    ]);
    // results.csv holds only the cells of the current data.
    expect(after.results.rows.map((row) => row.cell).sort()).toEqual([...after.ran].sort());
  });

  it("makes new cells when a loss plugin's source changes, and says which file", async () => {
    const plugin = join(dir, 'my-loss.js');
    const source = (scale: number) =>
      `export default { name: 'scaled', description: 'a test plugin', params: [], compute() { return { loss: ${scale} }; } };\n`;
    const { loadExperiment } = await import('../../src/experiments/load.js');
    const { createLossRegistry } = await import('../../src/losses/index.js');
    const { explainNotReused } = await import('../../src/experiments/runner.js');
    const exp = writeYaml(dir, 'plug', EXPERIMENT('data/feats.csv').replace('name: smooth-ap', 'name: scaled'));
    const load = async () => {
      const reg = createLossRegistry();
      await reg.loadFile(plugin);
      return loadExperiment(exp, { registry: reg }).cells;
    };
    writeFileSync(plugin, source(1));
    const before = await load();
    writeFileSync(plugin, source(10));
    const after = await load();
    expect(after.map((c) => c.id)).not.toEqual(before.map((c) => c.id));
    expect(after.map((c) => c.configId)).toEqual(before.map((c) => c.configId));
    expect(after[0]!.inputs.plugins.scaled).toEqual({ file: plugin, sha256: sha256(readFileSync(plugin)) });
    const earlier = before.map((c) => ({ id: c.id, configId: c.configId, inputs: c.inputs, config: c.config, finishedAt: '2026-01-02T03:04:05.000Z' }));
    expect(explainNotReused(after, earlier as never)).toEqual([
      `2 earlier result(s) not reused: plugin file ${plugin} of loss scaled changed since 2026-01-02 03:04:05 UTC`,
    ]);
  });
});

describe('DigestCache', () => {
  it('is the sha256 of the content, remembered by path, size and modification time', () => {
    const dir = tempDir();
    const f = join(dir, 'x.bin');
    writeFileSync(f, 'abcdef');
    const t = new Date('2026-06-01T00:00:00Z');
    utimesSync(f, t, t);
    const cache = new DigestCache(join(dir, 'cache.json'));
    expect(cache.digest(f)).toBe(sha256('abcdef'));
    // Same size and time: not re-read (this is what lets a 1 GB file cost a stat on later runs).
    writeFileSync(f, 'ABCDEF');
    utimesSync(f, t, t);
    expect(statSync(f).size).toBe(6);
    expect(cache.digest(f)).toBe(sha256('abcdef'));
    utimesSync(f, t, new Date(t.getTime() + 5000));
    expect(cache.digest(f)).toBe(sha256('ABCDEF'));
    cache.save();
    expect(new DigestCache(join(dir, 'cache.json')).digest(f)).toBe(sha256('ABCDEF'));
    expect(cache.digest(join(dir, 'absent'))).toBe('missing');
  });
});

describe('the input-features baseline', () => {
  it('is the exact retrieval of the L2-normalised test features', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f.csv'), featureCsv(3, 10, 4, 5));
    const file = writeYaml(dir, 'base', EXPERIMENT('f.csv').replace('seeds: [0, 1]', 'seeds: [0]'));
    const r = await runExperiment(file, { ...quiet, resultsDir: join(dir, 'results') });
    const data = await loadDataset('features', { path: 'f.csv', split: 'class-disjoint' }, { seed: 0, baseDir: dir });
    const { n, dim, x, labels } = data.test;
    const unit = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) {
      const norm = Math.hypot(...x.subarray(i * dim, (i + 1) * dim));
      for (let j = 0; j < dim; j++) unit[i * dim + j] = x[i * dim + j]! / norm;
    }
    const truth = bruteRetrieval(unit, n, dim, labels, [1, 2]);
    const input = r.cells[0]!.input!;
    expect(input.map).toBeCloseTo(truth.map, 6);
    expect(input.mapAtR).toBeCloseTo(truth.mapAtR, 6);
    expect(Number(r.results.rows[0]!.inputMap)).toBe(input.map);
    expect(Number(r.results.rows[0]!.inputRecallAt1)).toBe(input.recallAt['1']);
  });

  it("flags a configuration whose trained mAP is below its input features'", () => {
    const row = (loss: string, metric: string, mean: number) => ({
      dataset: 'd',
      loss,
      'loss.params.tau': loss === 'a' ? '0.1' : '',
      metric,
      mean: String(mean),
    });
    const summary = {
      columns: ['dataset', 'loss', 'loss.params.tau', 'metric', 'mean'],
      rows: [row('a', 'map', 0.06), row('a', 'inputMap', 0.3), row('b', 'map', 0.5), row('b', 'inputMap', 0.3)],
    };
    const lines = worseThanInputs(summary, ['loss.params.tau']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^d a loss\.params\.tau=0\.1: trained mAP 0\.0600 < 0\.3000 of the input features/);
  });
});

describe('small classes', () => {
  it("are named by the user's label, and minPerClass drops them", async () => {
    const dir = tempDir();
    // Class 999 has a single row: it can never give a positive pair.
    writeFileSync(join(dir, 'f.csv'), featureCsv(4, 12, 4, 5, `${Array.from({ length: 5 }, () => '0.1').join(',')},999\n`));
    const file = writeYaml(dir, 'small', EXPERIMENT('f.csv').replace('seeds: [0, 1]', 'seeds: [0]'));
    const err = await runExperiment(file, { ...quiet, resultsDir: join(dir, 'r1') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/class 999 has 1 sample .*dataset\.params\.minPerClass/);
    const ok = writeYaml(dir, 'small2', EXPERIMENT('f.csv', ', minPerClass: 2').replace('seeds: [0, 1]', 'seeds: [0]'));
    const r = await runExperiment(ok, { ...quiet, resultsDir: join(dir, 'r2') });
    expect(r.ran).toHaveLength(1);
  });
});

describe('a run whose training is worse than its inputs', () => {
  it('is flagged in the run summary data and in the report', async () => {
    const dir = tempDir();
    // No training steps: the random model is far below the synthetic features' own retrieval.
    const file = writeYaml(
      dir,
      'worse',
      `base:\n  dataset: { name: synthetic, params: { classes: 40, perClass: 4, dim: 16 } }\n  train: { model: mlp, embeddingDim: 4, hidden: 8, iterations: 0, batchSize: 8, perClass: 2 }\n  loss: { name: smooth-ap }\nseeds: [0]\n`,
    );
    const resultsDir = join(dir, 'results');
    const r = await runExperiment(file, { ...quiet, resultsDir });
    expect(r.cells[0]!.metrics.map).toBeLessThan(r.cells[0]!.input!.map);
    expect(worseThanInputs(r.summary, r.experiment.swept)).toHaveLength(1);
    const { buildReport } = await import('../../src/report/build.js');
    const built = await buildReport('worse', { resultsDir, reportsDir: join(dir, 'reports') });
    expect(readFileSync(built.indexPath, 'utf8')).toMatch(
      /class="note warning">Warning: synthetic smooth-ap: trained mAP [\d.]+ &lt; [\d.]+ of the input features/,
    );
  });
});
