import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeYaml } from './experiments/helpers.js';

const CLI = resolve('dist/cli/main.js');
const bench = (args: string[], cwd?: string) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, env: { ...process.env, CI: '1' } });

// Three classes of two unit vectors in 2-D; every dot product is a short sum worked by hand below.
const BATCH = {
  embeddings: [
    [1, 0],
    [0.8, 0.6],
    [0, 1],
    [0.6, 0.8],
    [-1, 0],
    [-0.8, -0.6],
  ],
  labels: [0, 0, 1, 1, 2, 2],
};

describe('plugins get tf from rankbench (ctx.tf)', () => {
  it('examples/contrastive-loss.js runs from a folder with no node_modules, with the hand-worked value', () => {
    const dir = tempDir();
    const plugin = join(dir, 'contrastive-loss.js');
    copyFileSync('examples/contrastive-loss.js', plugin);
    writeFileSync(join(dir, 'batch.json'), JSON.stringify(BATCH));
    const r = bench(['--plugin', plugin, 'loss', 'contrastive', '--input', 'batch.json'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/already registered/);
    // Positives: the three pairs at s = 0.8 → pull = 1 − 0.8 = 0.2. Negatives (24 ordered pairs):
    // s above the margin 0.5 only for (0,3) = 0.6, (1,2) = 0.6 and (1,3) = 0.96, so
    // push = 2·(0.1 + 0.1 + 0.46)/24 = 0.055; loss = 0.255.
    expect(JSON.parse(r.stdout).loss).toBeCloseTo(0.255, 6);
  });
});

describe("a failure inside a plugin is reported as that plugin's, in one line", () => {
  const dir = tempDir();
  const batch = join(dir, 'batch.json');
  writeFileSync(batch, JSON.stringify(BATCH));
  const lessHint =
    /^bench: (cell \w+: )?loss plugin rank-less failed in compute: Cannot compute gradient: gradient function not found for Less; tfjs has no gradient for Less .*use the fused kernel interface .* or a differentiable op$/;

  it('an op without a gradient (tf.less) in bench loss names the plugin and the way out', () => {
    const r = bench(['--plugin', 'test/fixtures/rank-less-loss.js', 'loss', 'rank-less', '--input', batch]);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(lessHint);
    expect(r.stderr).not.toMatch(/internal error|\bat .*\.js:\d+/);
  });

  it('the same in training (bench run, in this process and in worker processes)', () => {
    const file = writeYaml(
      dir,
      'less',
      `
description: a plugin without a gradient, in training
base:
  dataset: { name: synthetic, params: { classes: 20, perClass: 6, dim: 8 } }
  train: { model: mlp, embeddingDim: 8, hidden: 16, lr: 0.003, iterations: 3, batchSize: 12, perClass: 3 }
  loss: { name: rank-less }
  eval: { k: [1] }
seeds: [0, 1]
`,
    );
    for (const jobs of ['1', '2']) {
      const r = bench([
        '--plugin',
        'test/fixtures/rank-less-loss.js',
        'run',
        file,
        '--results-dir',
        join(dir, `results-${jobs}`),
        '--no-report',
        '--jobs',
        jobs,
      ]);
      expect(r.status, r.stderr).toBe(2);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('bench:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(lessHint);
      expect(r.stderr).not.toMatch(/internal error|\bat .*\.js:\d+/);
    }
  });

  it('an op whose gradient the backend lacks (tf.gather on wasm) names the backend and the way out', () => {
    const r = bench(['--plugin', 'test/fixtures/gather-loss.js', '--backend', 'wasm', 'loss', 'gather-first', '--input', batch]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "bench: loss plugin gather-first failed in compute: Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'; " +
        'the wasm backend has no UnsortedSegmentSum kernel; use another op or another --backend (cpu has them all)\n',
    );
    // On cpu the same plugin works: the gradient of the first row's squared norm is 2·x₀.
    const ok = bench(['--plugin', 'test/fixtures/gather-loss.js', '--backend', 'cpu', 'loss', 'gather-first', '--input', batch]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).grad.slice(0, 2)).toEqual([
      [2, 0],
      [0, 0],
    ]);
  });

  it('an ordinary exception in compute keeps its message and names the plugin', () => {
    const r = bench(['--plugin', 'test/fixtures/throwing-loss.js', 'loss', 'throwing', '--input', batch]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('bench: loss plugin throwing failed in compute: labels.mapp is not a function\n');
  });

  it('a default of the wrong type is rejected when the plugin loads, naming the parameter', () => {
    const bad = join(dir, 'bad-default.js');
    writeFileSync(
      bad,
      `export default { name: 'bad-default', description: 'x', params: [
      { name: 'margin', type: 'number', default: '0.5', doc: 'x' }], compute() {} };`,
    );
    const r = bench(['--plugin', bad, 'list']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`bench: plugin ${bad} (bad-default): params[0] (margin) field "default" is "0.5"; expected a number\n`);
  });
});
