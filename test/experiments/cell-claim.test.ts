import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClaimSet, claimPath } from '../../src/experiments/cell-claim.js';
import { cellPath, writeCellResult } from '../../src/experiments/store.js';
import type { CellResult } from '../../src/experiments/types.js';
import { tempDir } from './helpers.js';

const ago = (ms: number): Date => new Date(Date.now() - ms);

describe('claim files', () => {
  it('let one of two workers claim a cell; the other skips it while the claim is live', () => {
    const dir = tempDir();
    const a = new ClaimSet(dir, 60_000);
    const b = new ClaimSet(dir, 60_000);
    expect(a.tryClaim('c1')).toBe(true);
    expect(b.tryClaim('c1')).toBe(false);
    expect(b.state('c1').kind).toBe('live');
    const info = JSON.parse(readFileSync(claimPath(dir, 'c1'), 'utf8')) as { pid: number; host: string; startedAt: string };
    expect(info.pid).toBe(process.pid);
    expect(typeof info.host).toBe('string');
    a.releaseAll();
    expect(b.tryClaim('c1')).toBe(true);
    b.releaseAll();
  });

  it('are taken over once their heartbeat is older than the timeout', () => {
    const dir = tempDir();
    const dead = new ClaimSet(dir, 1_000);
    expect(dead.tryClaim('c1')).toBe(true);
    utimesSync(claimPath(dir, 'c1'), ago(5_000), ago(5_000));
    const other = new ClaimSet(dir, 1_000);
    expect(other.state('c1').kind).toBe('stale');
    expect(other.tryClaim('c1')).toBe(true);
    // The dead worker lost it: releasing must not delete the new owner's claim.
    dead.release('c1');
    expect(other.state('c1').kind).toBe('live');
    other.releaseAll();
  });

  it('heartbeat refreshes the claims a worker holds', () => {
    const dir = tempDir();
    const a = new ClaimSet(dir, 60_000);
    a.tryClaim('c1');
    utimesSync(claimPath(dir, 'c1'), ago(30_000), ago(30_000));
    const before = statSync(claimPath(dir, 'c1')).mtimeMs;
    a.heartbeat();
    expect(statSync(claimPath(dir, 'c1')).mtimeMs).toBeGreaterThan(before + 20_000);
    a.releaseAll();
  });
});

describe('writeCellResult', () => {
  it('never replaces a finished cell file unless asked to (a --force rerun)', () => {
    const dir = tempDir();
    const first = { id: 'abc', experiment: 'e', metrics: { map: 1 }, untrained: {} } as unknown as CellResult;
    const second = { ...first, metrics: { map: 2 } } as unknown as CellResult;
    expect(writeCellResult(dir, first)).toBe(true);
    expect(writeCellResult(dir, second)).toBe(false);
    expect(JSON.parse(readFileSync(cellPath(dir, 'e', 'abc'), 'utf8')).metrics.map).toBe(1);
    expect(writeCellResult(dir, second, { replace: true })).toBe(true);
    expect(JSON.parse(readFileSync(cellPath(dir, 'e', 'abc'), 'utf8')).metrics.map).toBe(2);
  });

  it("replaces a damaged file under the cell's name (why the cell ran again)", () => {
    const dir = tempDir();
    const result = { id: 'abc', experiment: 'e', metrics: { map: 1 }, untrained: {} } as unknown as CellResult;
    mkdirSync(join(dir, 'e', 'cells'), { recursive: true });
    writeFileSync(cellPath(dir, 'e', 'abc'), '{"broken":');
    expect(writeCellResult(dir, result)).toBe(true);
    expect(JSON.parse(readFileSync(cellPath(dir, 'e', 'abc'), 'utf8')).metrics.map).toBe(1);
  });
});
