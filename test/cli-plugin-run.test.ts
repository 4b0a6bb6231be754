import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { tempDir, writeYaml } from './experiments/helpers.js';

const CLI = resolve('dist/cli/main.js');
const PLUGIN = resolve('examples/contrastive-loss.js');

// A user's loss from a file, in an experiment, through child processes: nothing in the core names it.
const YAML = `
description: the README's example plugin trains like a built-in
base:
  dataset: { name: synthetic, params: { classes: 40, perClass: 6, dim: 16 } }
  train: { model: mlp, embeddingDim: 16, hidden: 32, lr: 0.003, iterations: 60, batchSize: 24, perClass: 3 }
  loss: { name: contrastive, params: { margin: 0.3 } }
  eval: { k: [1, 2] }
seeds: [0, 1]
`;

const bench = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });

describe('a loss plugin from a file in bench run', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'plugin-run', YAML);

  it('trains with it in 2 worker processes and beats the untrained model', () => {
    const r = bench(['--plugin', PLUGIN, 'run', file, '--results-dir', join(dir, 'results'), '--jobs', '2', '--no-report']);
    expect(r.status, r.stderr).toBe(0);
    const rows = parse(readFileSync(join(dir, 'results', 'plugin-run', 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.loss).toBe('contrastive');
      expect(row.apEstimate).toBe(''); // not an AP surrogate: no estimate, and no fake one
      expect(Number(row.map)).toBeGreaterThan(Number(row.untrainedMap) + 0.05);
    }
  });

  it('without --plugin, the experiment is rejected before anything runs, naming the loss', () => {
    const r = bench(['run', file, '--results-dir', join(dir, 'results2'), '--no-report']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/contrastive/);
    expect(r.stderr).toMatch(/smooth-ap/); // says what is available
  });
});
