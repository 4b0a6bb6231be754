import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { runExperiment, type RunResult } from '../../src/experiments/runner.js';
import type { CellResult } from '../../src/experiments/types.js';
import { tempDir, writeYaml } from './helpers.js';

const dir = tempDir();

// Tiny and fast: 48 items of 8 features, a linear head, a few steps.
const BASE = `
base:
  dataset: { name: synthetic, params: { classes: 24, perClass: 4, dim: 8 } }
  train: { model: linear, embeddingDim: 8, iterations: 8, batchSize: 16, perClass: 2, logEvery: 2 }
  loss: { name: smooth-ap, params: { tau: 0.01 } }
  eval: { k: [1, 4], estimateBatches: 3 }
`;

const quiet = { progress: 'none' as const, command: 'bench run test' };

function readCell(r: RunResult, id: string): CellResult {
  return JSON.parse(readFileSync(join(r.dir, 'cells', `${id}.json`), 'utf8')) as CellResult;
}

describe('runExperiment', () => {
  const file = writeYaml(dir, 'two', `${BASE}\nseeds: [0, 1]\n`);
  const results = join(dir, 'results-a');
  let first: RunResult;

  it('runs every cell and writes one file per cell with the pinned fields', async () => {
    first = await runExperiment(file, { ...quiet, resultsDir: results });
    expect(first.ran).toHaveLength(2);
    expect(first.reused).toEqual([]);
    const files = readdirSync(join(first.dir, 'cells')).sort();
    expect(files).toEqual(first.ran.map((id) => `${id}.json`).sort());
    const c = readCell(first, first.ran[0]!);
    expect(Object.keys(c).sort()).toEqual(
      [
        'id',
        'configId',
        'inputs',
        'experiment',
        'config',
        'swept',
        'dataset',
        'loss',
        'seed',
        'metrics',
        'untrained',
        'input',
        'apEstimate',
        'exampleBatch',
        'curve',
        'trainMs',
        'startedAt',
        'finishedAt',
      ].sort(),
    );
    expect(Object.keys(c.metrics).sort()).toEqual(['leftOut', 'map', 'mapAtR', 'mrr', 'precisionAt1', 'queries', 'rPrecision', 'recallAt']);
    expect(Object.keys(c.metrics.recallAt)).toEqual(['1', '4']);
    // logEvery 2 over 8 steps: steps 1, 2, 4, 6, 8.
    expect(c.curve.map((p) => p.step)).toEqual([1, 2, 4, 6, 8]);
    expect(c.apEstimate!.gap).toBe(c.apEstimate!.estimate - c.apEstimate!.trueAP);
    expect(c.config.seed).toBe(c.seed);
  });

  it('results.csv holds exactly the numbers of the cell files', () => {
    const rows = parse(readFileSync(join(first.dir, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.cell).sort()).toEqual([...first.ran].sort());
    for (const row of rows) {
      const c = readCell(first, row.cell!);
      expect(Number(row.map)).toBe(c.metrics.map);
      expect(Number(row.recallAt4)).toBe(c.metrics.recallAt['4']);
      expect(Number(row.untrainedMap)).toBe(c.untrained.map);
      expect(Number(row.apEstimate)).toBe(c.apEstimate!.estimate);
      expect(Number(row.trueAP)).toBe(c.apEstimate!.trueAP);
      expect(Number(row.seed)).toBe(c.seed);
    }
    const manifest = JSON.parse(readFileSync(join(first.dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    for (const k of [
      'experiment',
      'file',
      'resolved',
      'swept',
      'report',
      'packageVersion',
      'gitCommit',
      'node',
      'tfjs',
      'backend',
      'startedAt',
      'finishedAt',
      'command',
    ]) {
      expect(manifest).toHaveProperty(k);
    }
    expect(manifest.experiment).toBe('two');
    expect(manifest.command).toBe('bench run test');
  });

  it('a rerun reuses finished cells without touching their files', async () => {
    const before = first.ran.map((id) => statSync(join(first.dir, 'cells', `${id}.json`)).mtimeMs);
    const again = await runExperiment(file, { ...quiet, resultsDir: results });
    expect(again.ran).toEqual([]);
    expect(again.reused.sort()).toEqual([...first.ran].sort());
    expect(first.ran.map((id) => statSync(join(first.dir, 'cells', `${id}.json`)).mtimeMs)).toEqual(before);
    expect(again.cells.map((c) => c.metrics.map)).toEqual(first.cells.map((c) => c.metrics.map));
  });

  it('--force redoes them, with bit-identical numbers (same seed, same backend)', async () => {
    const forced = await runExperiment(file, { ...quiet, resultsDir: results, force: true });
    expect(forced.ran.sort()).toEqual([...first.ran].sort());
    for (const c of forced.cells) {
      const old = first.cells.find((o) => o.id === c.id)!;
      expect(c.startedAt).not.toBe(old.startedAt);
      expect(c.metrics).toEqual(old.metrics);
      expect(c.untrained).toEqual(old.untrained);
      expect(c.apEstimate).toEqual(old.apEstimate);
      expect(c.curve).toEqual(old.curve);
    }
  });

  it('--only runs a subset; results.csv lists what is finished and the rest stays pending', async () => {
    const r = await runExperiment(file, { ...quiet, resultsDir: join(dir, 'results-only'), only: { seed: ['1'] } });
    expect(r.ran).toHaveLength(1);
    expect(r.cells.map((c) => c.seed)).toEqual([1]);
    expect(r.pending).toHaveLength(1);
    expect(r.results.rows).toHaveLength(1);
  });
});

describe('AP estimate beside the true AP', () => {
  it('uses the loss convention on both sides: at tiny tau the estimate meets the exact AP, at tau = 1 it does not', async () => {
    const file = writeYaml(
      dir,
      'conv',
      `${BASE}\nsweep:\n  list:\n    - { loss.params.tau: 0.0001, loss.params.includeQuery: true }\n    - { loss.params.tau: 0.0001, loss.params.includeQuery: false }\n    - { loss.params.tau: 1 }\n`,
    );
    const r = await runExperiment(file, { ...quiet, resultsDir: join(dir, 'results-conv') });
    const [tight, standard, loose] = r.cells.map((c) => c.apEstimate!);
    expect(tight!.includeQuery).toBe(true);
    expect(standard!.includeQuery).toBe(false);
    // Including the query adds a sure hit at rank 1, so the two conventions differ by far more
    // than the tolerance: pairing the estimate with the other convention would fail here.
    expect(Math.abs(tight!.trueAP - standard!.trueAP)).toBeGreaterThan(0.05);
    expect(Math.abs(tight!.gap)).toBeLessThan(0.01);
    expect(Math.abs(standard!.gap)).toBeLessThan(0.01);
    expect(loose!.gap).toBeLessThan(-0.1);
  });
});

describe('checks before running', () => {
  it('a cell whose B/P exceeds the classes of its split fails before any cell runs', async () => {
    const file = writeYaml(dir, 'toobig', `${BASE}\nsweep:\n  grid:\n    train.batchSize: [8, 32]\n`);
    const results = join(dir, 'results-big');
    const err = await runExperiment(file, { ...quiet, resultsDir: results }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    // 24 classes, class-disjoint: 12 train classes; B=32 at P=2 needs 16.
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cell [0-9a-f]{12} \\(synthetic smooth-ap train\\.batchSize=32 seed=0\\): dataset synthetic train split: .*16 classes per batch, but the data have only 12 classes`,
      ),
    );
    expect(existsSync(join(results, 'toobig', 'cells')) ? readdirSync(join(results, 'toobig', 'cells')) : []).toEqual([]);
  });
});
