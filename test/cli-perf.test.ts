import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const bench = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', 'perf', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

describe('bench perf', () => {
  it('prints one JSON object per case with the documented fields (losses, tiny sizes)', () => {
    const r = bench('--suite', 'losses', '--sizes', '16,24', '--json', '--tensor-backends', 'cpu');
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // 4 built-in losses × 2 sizes × (fused + tensor on cpu)
    expect(rows).toHaveLength(16);
    for (const row of rows) {
      expect(row).toMatchObject({ suite: 'losses', D: 512, P: 4 });
      expect([16, 24]).toContain(row.B);
      expect(['fused', 'tensor']).toContain(row.impl);
      expect(row.minMs).toBeLessThanOrEqual(row.medianMs);
      expect(row.medianMs).toBeLessThanOrEqual(row.maxMs);
      expect(row.peakRssMb).toBeGreaterThan(10);
      expect(Object.keys(row).every((k) => ['suite', 'name', 'impl', 'backend', 'B', 'D', 'P', 'N', 'medianMs', 'minMs', 'maxMs', 'peakRssMb', 'repeats', 'error'].includes(k))).toBe(true);
    }
    expect(new Set(rows.map((x) => x.name))).toEqual(new Set(['smooth-ap', 'triplet', 'fast-ap', 'blackbox-ap']));
  });

  it('measures the evaluation and a training step', () => {
    const ev = bench('--suite', 'eval', '--sizes', '500', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    const evRows = ev.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(evRows.map((r) => r.name)).toEqual(['exact-retrieval', 'exact-retrieval-query-gallery']);
    for (const r of evRows) expect(r).toMatchObject({ suite: 'eval', N: 500, D: 128 });
    const tr = bench('--suite', 'train', '--sizes', '32', '--loss', 'smooth-ap', '--tensor-backends', 'wasm');
    expect(tr.status, tr.stderr).toBe(0);
    expect(tr.stdout).toMatch(/\| train\s+\| mlp\+smooth-ap \| adam-step \| wasm\s+\| 32 /);
  });

  it('rejects a bad suite or size with one line', () => {
    const r = bench('--suite', 'everything');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toBe('bench: --suite: "everything" is not allowed; expected one of losses, eval, train, all');
    const s = bench('--sizes', '64,x');
    expect(s.status).not.toBe(0);
    expect(s.stderr).toMatch(/^bench: --sizes: "64,x" is not allowed/);
  });
});
