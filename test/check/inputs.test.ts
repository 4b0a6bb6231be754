import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inputDifferences } from '../../src/check/baseline.js';
import { tempDir } from '../experiments/helpers.js';

/** A complete baseline manifest, as `bench check --update` writes it, with these fields replaced. */
const manifest = (fields: Record<string, unknown>): string => {
  const base = { experiment: 'exp', file: 'exp.yaml', resolved: {}, swept: [], report: {}, packageVersion: '0.1.0', gitCommit: null, gitDirty: null };
  const run = {
    node: 'v20',
    tfjs: '4.22.0',
    backend: 'wasm',
    startedAt: 's',
    finishedAt: 'f',
    command: 'bench check',
    cells: { total: 1, finished: 1, ranNow: 1, reused: 0 },
  };
  return JSON.stringify({ ...base, ...run, ...fields });
};

describe('bench check and the inputs of the baseline', () => {
  const inputs = (data: Record<string, string>, plugin?: string) => ({
    rankbench: ['0.1.0'],
    data,
    plugins: plugin ? { mine: { file: '/p/mine.js', sha256: plugin } } : {},
  });

  it("names every data file and plugin whose digest is not the baseline's", () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'exp.manifest.json'), manifest({ inputs: inputs({ '/d/a.npy': 'a'.repeat(64), '/d/b.txt': 'b'.repeat(64) }, 'p1') }));
    expect(inputDifferences(dir, 'exp', inputs({ '/d/a.npy': 'a'.repeat(64), '/d/b.txt': 'b'.repeat(64) }, 'p1'))).toEqual([]);
    expect(inputDifferences(dir, 'exp', inputs({ '/d/a.npy': 'c'.repeat(64), '/d/b.txt': 'b'.repeat(64) }, 'p2'))).toEqual([
      `data file /d/a.npy: ${'a'.repeat(12)} in the baseline, ${'c'.repeat(12)} now`,
      "plugin of loss mine differs from the baseline's",
    ]);
  });

  it('has nothing to say for a baseline made before inputs were recorded', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'exp.manifest.json'), manifest({}));
    expect(inputDifferences(dir, 'exp', inputs({ '/d/a.npy': 'x' }))).toEqual([]);
  });
});
