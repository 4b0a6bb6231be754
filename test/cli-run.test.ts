import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { CellResult } from '../src/experiments/types.js';
import { tempDir, writeYaml } from './experiments/helpers.js';

const CLI = resolve('dist/cli/main.js');

const YAML = `
description: two cells through the CLI
base:
  dataset: { name: synthetic, params: { classes: 24, perClass: 4, dim: 8 } }
  train: { model: linear, embeddingDim: 8, iterations: 10, batchSize: 16, perClass: 2 }
  loss: { name: smooth-ap }
  eval: { k: [1, 2], estimateBatches: 2 }
seeds: [0]
sweep:
  grid:
    loss.params.tau: [0.1, 0.01]
report: { x: loss.params.tau, logX: true }
`;

function bench(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env } });
}

describe('bench run (end to end)', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'e2e', YAML);
  const results = join(dir, 'results');

  it('runs a 2-cell experiment in 2 worker processes and writes the result files', () => {
    const r = bench(['run', file, '--results-dir', results, '--jobs', '2', '--no-report']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('e2e: 2 cell(s) run, 0 reused');
    expect(r.stdout).toMatch(/dataset\s+loss\s+loss\.params\.tau\s+n\s+mAP/);
    // Not a terminal (CI): one plain line per finished cell, no live line.
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('cell '));
    expect(lines).toHaveLength(2);
    expect(r.stderr).not.toContain('\r');

    const out = join(results, 'e2e');
    const rows = parse(readFileSync(join(out, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => x['loss.params.tau']).sort()).toEqual(['0.01', '0.1']);
    const cellFiles = readdirSync(join(out, 'cells'));
    expect(cellFiles.sort()).toEqual(rows.map((x) => `${x.cell}.json`).sort());
    for (const row of rows) {
      const c = JSON.parse(readFileSync(join(out, 'cells', `${row.cell}.json`), 'utf8')) as CellResult;
      expect(Number(row.map)).toBe(c.metrics.map);
      expect(c.config.loss.params.tau).toBe(Number(row['loss.params.tau']));
    }
    const summary = parse(readFileSync(join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(summary.filter((s) => s.metric === 'map')).toHaveLength(2);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.swept).toEqual(['loss.params.tau']);
    expect(manifest.report).toEqual({ x: 'loss.params.tau', logX: true });
    expect(manifest.backend).toBe('wasm');
    expect(String(manifest.command)).toMatch(/^bench run .*e2e\.yaml --results-dir .* --jobs 2 --no-report$/);
  });

  it('a rerun reuses both cells; --seeds and --set make new cells', () => {
    const again = bench(['run', file, '--results-dir', results, '--no-report']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('e2e: 0 cell(s) run, 2 reused');
    const over = bench([
      'run',
      file,
      '--results-dir',
      results,
      '--jobs',
      '1',
      '--no-report',
      '--seeds',
      '3',
      '--set',
      'train.iterations=4',
      '--only',
      'loss.params.tau=0.1',
    ]);
    expect(over.status, over.stderr).toBe(0);
    expect(over.stdout).toContain('e2e: 1 cell(s) run, 0 reused');
    expect(over.stdout).toContain('1 cell(s) of e2e have no result yet');
    const rows = parse(readFileSync(join(results, 'e2e', 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(1);
    const c = JSON.parse(readFileSync(join(results, 'e2e', 'cells', `${rows[0]!.cell}.json`), 'utf8')) as CellResult;
    expect([c.seed, c.config.train.iterations, c.curve.length]).toEqual([3, 4, 4]);
  });

  it('a bad experiment file: one line naming the file and key path, exit code 2, nothing written', () => {
    const bad = writeYaml(dir, 'bad', YAML.replace('batchSize: 16', 'batchSze: 16'));
    const r = bench(['run', bad, '--results-dir', results, '--no-report']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `bench: ${bad}: base.train.batchSze: unknown key; allowed: model, embeddingDim, hidden, lr, weightDecay, iterations, batchSize, perClass, withReplacement, logEvery\n`,
    );
    expect(existsSync(join(results, 'bad'))).toBe(false);
  });

  it('bad flags: --seeds, --only and an unknown experiment name', () => {
    expect(bench(['run', file, '--results-dir', results, '--seeds', '1,x']).stderr).toBe(
      'bench: --seeds: "1,x" is not allowed; expected comma-separated integers >= 0, e.g. 0,1,2\n',
    );
    expect(bench(['run', file, '--results-dir', results, '--only', 'loss.params.tau=0.5']).stderr).toMatch(
      /^bench: --only loss\.params\.tau=0\.5: no cell has this value; values: 0\.1, 0\.01\n$/,
    );
    const r = bench(['run', 'no-such-experiment']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bench: unknown experiment "no-such-experiment"; available: .*ablation-tau.*ci/);
  });
});
