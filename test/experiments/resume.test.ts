import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../src/experiments/load.js';
import type { CellResult } from '../../src/experiments/types.js';
import { createLossRegistry } from '../../src/losses/index.js';
import { tempDir, writeYaml } from './helpers.js';

const CLI = resolve('dist/cli/main.js');

// Four cells of a few hundred steps each: long enough to kill the run in the middle.
const YAML = `
base:
  dataset: { name: synthetic, params: { classes: 40, perClass: 4, dim: 16 } }
  train: { model: mlp, embeddingDim: 16, hidden: 32, iterations: 150, batchSize: 16, perClass: 2, logEvery: 10 }
  loss: { name: smooth-ap }
  eval: { k: [1], estimateBatches: 2 }
seeds: [0, 1]
sweep:
  grid:
    loss.params.tau: [0.1, 0.01]
`;

function cellFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^[0-9a-f]{12}\.json$/.test(f))
        .sort()
    : [];
}

describe('resume after a kill', () => {
  it('a SIGKILLed run loses no finished cell, leaves no partial one, and the rerun redoes only the rest', async () => {
    expect(existsSync(CLI), 'dist/ is built by the test command (tsc) before vitest').toBe(true);
    const dir = tempDir();
    const file = writeYaml(dir, 'killme', YAML);
    const results = join(dir, 'results');
    const cells = join(results, 'killme', 'cells');
    const expected = loadExperiment(file, { registry: createLossRegistry() })
      .cells.map((c) => `${c.id}.json`)
      .sort();
    expect(expected).toHaveLength(4);

    const child = spawn(process.execPath, [CLI, 'run', file, '--results-dir', results, '--jobs', '1', '--no-report'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    const deadline = Date.now() + 90_000;
    while (cellFiles(cells).length === 0) {
      if (Date.now() > deadline) throw new Error('no cell finished within 90 s');
      if (child.exitCode !== null) throw new Error(`the run ended (code ${child.exitCode}) before it could be killed`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const survivors = cellFiles(cells);
    // Killed in the middle: some cells done, not all (otherwise this test proves nothing).
    expect(survivors.length).toBeGreaterThanOrEqual(1);
    expect(survivors.length).toBeLessThan(4);
    const before = new Map(
      survivors.map((f) => [
        f,
        { mtime: statSync(join(cells, f)).mtimeMs, startedAt: (JSON.parse(readFileSync(join(cells, f), 'utf8')) as CellResult).startedAt },
      ]),
    );

    const rerun = spawnSync(process.execPath, [CLI, 'run', file, '--results-dir', results, '--jobs', '1', '--no-report'], { encoding: 'utf8' });
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain(`killme: ${4 - survivors.length} cell(s) run, ${survivors.length} reused from earlier runs`);

    // Every cell exactly once, no temp file left behind.
    expect(cellFiles(cells)).toEqual(expected);
    expect(readdirSync(cells).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    for (const [f, b] of before) {
      expect(statSync(join(cells, f)).mtimeMs).toBe(b.mtime);
      expect((JSON.parse(readFileSync(join(cells, f), 'utf8')) as CellResult).startedAt).toBe(b.startedAt);
    }
    const rows = parse(readFileSync(join(results, 'killme', 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => `${r.cell}.json`).sort()).toEqual(expected);
  });
});
