import { describe, expect, it } from 'vitest';
import { assignShards, cellCost, cellsOfShard, parseShard } from '../../src/experiments/shard.js';
import type { Cell } from '../../src/experiments/types.js';

/** Cells that differ only in id and training size, which is all the assignment looks at. */
function cells(n: number): Cell[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `c${String(i).padStart(3, '0')}`,
    configId: `k${i}`,
    inputs: { rankbench: '0', data: {}, plugins: {} },
    swept: {},
    config: { train: { iterations: 50 + ((i * 37) % 11) * 100, batchSize: [16, 64, 256][i % 3] } } as unknown as Cell['config'],
  }));
}

describe('shards', () => {
  const all = cells(23);

  it('are disjoint and cover every cell, for every N', () => {
    for (const n of [1, 2, 3, 7, 23, 30]) {
      const parts = Array.from({ length: n }, (_, i) => cellsOfShard(all, { index: i, count: n, source: 't' }));
      const ids = parts.flat().map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(all.map((c) => c.id).sort());
    }
  });

  it('do not depend on the order the cells are listed in', () => {
    const a = assignShards(all, 4);
    const b = assignShards([...all].reverse(), 4);
    for (const c of all) expect(b.get(c.id)).toBe(a.get(c.id));
  });

  it('are balanced by cost: the loads differ by at most the costliest cell', () => {
    const where = assignShards(all, 4);
    const load = [0, 0, 0, 0];
    for (const c of all) load[where.get(c.id)!]! += cellCost(c);
    const maxCost = Math.max(...all.map(cellCost));
    expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(maxCost);
    // Balancing by count alone would give 6,6,6,5 cells whatever they cost; cost changes that here.
    expect(new Set(all.map(cellCost)).size).toBeGreaterThan(3);
  });
});

describe('parseShard', () => {
  it('reads I/N', () => {
    expect(parseShard('1/4')).toMatchObject({ index: 1, count: 4 });
  });

  it('rejects what is not 0 <= I < N', () => {
    for (const bad of ['4/4', '1/0', 'x', '1-4', '-1/3']) expect(() => parseShard(bad)).toThrow(/--shard: .* is not allowed/);
  });

  it('takes I and N from a Slurm array task (COUNT, or MIN and MAX)', () => {
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '3' })).toMatchObject({ index: 1, count: 3 });
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '7' })).toMatchObject({ index: 2, count: 8 });
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '8' }).source).toContain('SLURM_ARRAY_TASK_ID=2');
  });

  it('takes I from a Kubernetes Indexed Job and N from RANKBENCH_SHARD_COUNT', () => {
    expect(parseShard('auto', { JOB_COMPLETION_INDEX: '3', RANKBENCH_SHARD_COUNT: '5' })).toMatchObject({ index: 3, count: 5 });
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '3' })).toThrow(/RANKBENCH_SHARD_COUNT/);
  });

  it('says what it looked for when there is no array task', () => {
    expect(() => parseShard('auto', {})).toThrow(/--shard auto: no array task found; expected SLURM_ARRAY_TASK_ID .* or JOB_COMPLETION_INDEX/);
  });
});
