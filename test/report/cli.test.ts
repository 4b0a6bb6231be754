import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFixture } from './fixture.js';

// The CLI runs from dist/ (the test command compiles first).
const MAIN = resolve('dist/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'rankbench-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function bench(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench report', () => {
  it('is built (dist/cli/commands/report.js exists)', () => {
    expect(existsSync(resolve('dist/cli/commands/report.js'))).toBe(true);
  });

  it('reports every experiment with a results.csv by default and writes the index', () => {
    const results = join(root, 'results');
    const reports = join(root, 'reports');
    writeFixture(results, { experiment: 'ablation-tau', seeds: [1, 2] });
    writeFixture(results, { experiment: 'compare', swept: null, losses: ['smooth-ap', 'triplet'], estimates: (l) => l !== 'triplet' });
    // A folder without results.csv (e.g. committed baselines) is not an experiment.
    mkdirSync(join(results, 'baseline'), { recursive: true });
    writeFileSync(join(results, 'baseline', 'ci.csv'), 'experiment,cell\n');
    const r = bench('report', '--results-dir', results, '--reports-dir', reports);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      `ablation-tau: ${join(reports, 'ablation-tau', 'index.html')} (3 charts)`,
      `compare: ${join(reports, 'compare', 'index.html')} (3 charts)`,
      `index: ${join(reports, 'index.html')}`,
    ]);
    expect(existsSync(join(reports, 'baseline'))).toBe(false);
    const index = readFileSync(join(reports, 'index.html'), 'utf8');
    expect(index).toContain('href="ablation-tau/index.html"');
    expect(index).toContain('href="compare/index.html"');
    // Results without protocol columns were all leave-one-out, dot, per query: the subtitle says so.
    expect(readFileSync(join(reports, 'ablation-tau', 'index.html'), 'utf8')).toContain('evaluation: leave-one-out, dot similarity, averaged per query');
  });

  it('builds only the named experiments, accepting an experiment file path', () => {
    const results = join(root, 'named');
    const reports = join(root, 'named-reports');
    writeFixture(results, { experiment: 'one', seeds: [1, 2] });
    writeFixture(results, { experiment: 'two', seeds: [1, 2] });
    const r = bench('report', 'experiments/two.yaml', '--results-dir', results, '--reports-dir', reports);
    expect(r.code).toBe(0);
    expect(existsSync(join(reports, 'two', 'index.html'))).toBe(true);
    expect(existsSync(join(reports, 'one'))).toBe(false);
  });

  it('fails with one line naming the experiment and the path when results are missing', () => {
    const results = join(root, 'missing');
    const r = bench('report', 'ablation-p', '--results-dir', results, '--reports-dir', join(root, 'x'));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `bench: no results for experiment "ablation-p": ${join(results, 'ablation-p', 'results.csv')} does not exist (run \`bench run ablation-p\` first)\n`,
    );
  });

  it('fails with one line when there are no results at all', () => {
    const r = bench('report', '--results-dir', join(root, 'none'), '--reports-dir', join(root, 'y'));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`bench: no results to report: no ${join(root, 'none')}/<experiment>/results.csv (run \`bench run <experiment>\` first)\n`);
  });

  it("types a --plugin loss's parameter column with the plugin's spec when given the plugin, as text without it", () => {
    const results = join(root, 'plugin');
    writeFixture(results, {
      experiment: 'margins',
      losses: ['contrastive'],
      swept: { column: 'loss.params.margin', values: [0.1, 0.3, 0.5] },
      estimates: () => false,
    });
    const xType = (reports: string): string => {
      const spec = JSON.parse(readFileSync(join(reports, 'margins', 'metrics.vl.json'), 'utf8')) as {
        spec: { layer: Array<{ encoding: { x: { type: string } } }> };
      };
      return spec.spec.layer[0]!.encoding.x.type;
    };
    const withPlugin = bench(
      '--plugin',
      resolve('examples/contrastive-loss.js'),
      'report',
      'margins',
      '--results-dir',
      results,
      '--reports-dir',
      join(root, 'p1'),
    );
    expect(withPlugin.code, withPlugin.stderr).toBe(0);
    expect(xType(join(root, 'p1'))).toBe('quantitative');
    const without = bench('report', 'margins', '--results-dir', results, '--reports-dir', join(root, 'p2'));
    expect(without.code, without.stderr).toBe(0);
    expect(xType(join(root, 'p2'))).toBe('nominal');
  });
});
