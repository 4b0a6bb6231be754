import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';

const bench = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['dist/cli/main.js', 'check', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const readCsv = (file: string): Record<string, string>[] => parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];

describe('bench check', () => {
  const root = mkdtempSync(join(tmpdir(), 'rankbench-check-test-'));
  const first = join(root, 'first');
  const second = join(root, 'second');

  beforeAll(() => {
    const a = bench('--update', '--baseline-dir', first);
    expect(a.code, a.err).toBe(0);
    expect(a.out).toMatch(/ci: baseline .*ci\.csv updated \(4 cells\): new baseline/);
    const b = bench('--update', '--baseline-dir', second);
    expect(b.code, b.err).toBe(0);
    expect(b.out).toMatch(/new baseline/);
  });

  it('is bit-identical across two runs of the ci experiment (same seed, same backend)', () => {
    const strip = (rows: Record<string, string>[]) => rows.map(({ trainMs: _t, ...rest }) => rest);
    const a = readCsv(join(first, 'ci.csv'));
    expect(a).toHaveLength(4);
    expect(strip(readCsv(join(second, 'ci.csv')))).toEqual(strip(a));
    const manifest = JSON.parse(readFileSync(join(first, 'ci.manifest.json'), 'utf8'));
    expect(manifest.experiment).toBe('ci');
    expect(typeof manifest.backend).toBe('string');
  });

  it('passes an unchanged run and prints the comparison table', () => {
    const r = bench('--baseline-dir', first);
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toMatch(/cell\s+metric\s+baseline\s+now\s+difference\s+tolerance\s+verdict/);
    expect(r.out).not.toMatch(/CHANGED|MISSING|NEW/);
  });

  it('fails with the right row when a baseline value is perturbed by 1%', () => {
    const dir = join(root, 'perturbed');
    cpSync(first, dir, { recursive: true });
    const rows = readCsv(join(dir, 'ci.csv'));
    const victim = rows.find((r) => r.loss === 'smooth-ap' && r['loss.params.tau'] === '0.01')!;
    const text = readFileSync(join(dir, 'ci.csv'), 'utf8').replace(`,${victim.map},`, `,${Number(victim.map) * 1.01},`);
    writeFileSync(join(dir, 'ci.csv'), text);
    const r = bench('--baseline-dir', dir);
    expect(r.code).not.toBe(0);
    const changed = r.out.split('\n').filter((l) => /CHANGED/.test(l));
    expect(changed).toHaveLength(2); // once in the full table, once in the failure list
    expect(changed[0]).toMatch(/^synthetic smooth-ap loss\.params\.tau=0\.01 seed=0\s+map\s/);
    expect(r.err).toMatch(/bench: check failed/);
  });

  it('fails when a real code path changes the numbers (a different learning rate)', () => {
    const r = bench('--baseline-dir', first, '--set', 'train.lr=0.0031');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/FAILED/);
    expect(r.out).toMatch(/\s+map\s+[-\d.]+\s+[-\d.]+\s+[-\d.e]+\s+[\d.e-]+\s+CHANGED/);
  });

  it('says clearly when there is no baseline, before running anything', () => {
    const r = bench('--baseline-dir', join(root, 'none'));
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^bench: check: no baseline for experiment "ci": .*ci\.csv does not exist; create it on purpose with "bench check --update ci"/);
    expect(existsSync(join(root, 'none'))).toBe(false);
  });
});
