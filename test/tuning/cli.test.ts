import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { tempDir, writeYaml } from '../experiments/helpers.js';

const CLI = resolve('dist/cli/main.js');

const YAML = `
base:
  dataset: { name: synthetic, params: { classes: 36, perClass: 4, dim: 12, superClasses: 3 } }
  train: { model: mlp, embeddingDim: 8, hidden: 16, iterations: 3, batchSize: 12, perClass: 2, logEvery: 3 }
  loss: { name: smooth-ap }
  eval: { k: [1], estimateBatches: 1 }
seeds: [0, 1]
tune:
  budget: 3
  strategy: tpe
  initial: 2
  folds: 3
  losses:
    smooth-ap:
      loss.params.tau: { min: 0.001, max: 0.5, log: true }
    fast-ap:
      loss.params.bins: { min: 2, max: 20, log: true }
`;

const bench = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
const run = (cwd: string, ...args: string[]) =>
  new Promise<number | null>((res) => spawn(process.execPath, [CLI, ...args], { cwd, stdio: 'ignore' }).on('exit', (code) => res(code)));
/** tuning.csv without the timing column (the only one allowed to differ between runs). */
const tuning = (dir: string) =>
  (parse(readFileSync(join(dir, 'results', 'fair', 'tuning.csv'), 'utf8'), { columns: true }) as Record<string, string>[]).map(
    ({ trainMs: _t, ...rest }) => rest,
  );

describe('bench run with tune:', () => {
  it('refuses a split that would read the test classes in one line, exit 2', () => {
    const dir = tempDir();
    writeYaml(dir, 'leak', YAML.replace('superClasses: 3', 'superClasses: 3, split: closed-set'));
    const r = bench(dir, 'run', 'leak.yaml', '--no-report');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bench: leak\.yaml: base\.dataset\.params\.split: "closed-set" puts the test classes in the train split/);
  });

  it('two shards on one results folder, then bench merge, give the same trials as one worker', async () => {
    expect(existsSync(CLI), 'dist/ is built before the CLI tests').toBe(true);
    const one = tempDir();
    writeYaml(one, 'fair', YAML);
    expect(bench(one, 'run', 'fair.yaml', '--jobs', '1', '--no-report').status).toBe(0);

    const two = tempDir();
    writeYaml(two, 'fair', YAML);
    expect(bench(two, 'run', 'fair.yaml', '--plan').stdout).toMatch(/0 of 6 trial\(s\) finished/);
    const codes = await Promise.all(['0/2', '1/2'].map((s) => run(two, 'run', 'fair.yaml', '--shard', s, '--jobs', '1', '--no-report')));
    expect(codes).toEqual([0, 0]);
    const merged = bench(two, 'merge', 'fair.yaml', '--no-report');
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/pairwise, paired over seeds/);
    expect(tuning(two)).toEqual(tuning(one));
    expect(readFileSync(join(two, 'results', 'fair', 'best.json'), 'utf8')).toBe(readFileSync(join(one, 'results', 'fair', 'best.json'), 'utf8'));
  }, 180_000);
});
