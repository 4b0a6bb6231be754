import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFaissPython, runFaissPeer } from '../src/perf/faiss-peer.js';

// Needs python3 with faiss (Debian's python3-faiss, which .ci/run installs): under CI its absence fails.
const python = findFaissPython();
const why = 'no python3 here imports faiss (apt-get install python3-faiss)';

describe.skipIf(python === null && !process.env.CI)(`the faiss peer${python === null ? ` (skipped: ${why})` : ''}`, () => {
  it('is available under CI', () => {
    expect(python, why).not.toBeNull();
  });

  it('searches leave-one-out and its Recall@K matches a brute force written here', () => {
    // 8 unit vectors at distinct angles, classes of two: sort the others by cosine, drop the query.
    const angles = [0, 0.3, 1.1, 1.25, 2.0, 2.9, 3.7, 5.1];
    const labels = new Int32Array([0, 2, 1, 0, 3, 1, 2, 3]);
    const n = angles.length;
    const x = new Float64Array(angles.flatMap((a) => [Math.cos(a), Math.sin(a)]));
    const ks = [1, 2, 3];
    const want: Record<string, number> = {};
    for (const k of ks) {
      let hits = 0;
      for (let q = 0; q < n; q++) {
        const others = [...Array(n).keys()].filter((j) => j !== q).sort((a, b) => Math.cos(angles[q]! - angles[b]!) - Math.cos(angles[q]! - angles[a]!));
        if (others.slice(0, k).some((j) => labels[j] === labels[q])) hits++;
      }
      want[String(k)] = hits / n;
    }
    const dir = mkdtempSync(join(tmpdir(), 'faiss-peer-'));
    try {
      const r = runFaissPeer(python!, { x, labels, n, d: 2, k: 3, ks, threads: 1, repeats: 2, dir });
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) return;
      expect(r.timesMs).toHaveLength(2);
      for (const ms of r.timesMs) expect(ms).toBeGreaterThan(0);
      expect(r.recallAt).toEqual(want);
      // The case is not trivial: some query's nearest other item is of another class.
      expect(want['1']).toBeLessThan(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bench perf --peer faiss times faiss right after the evaluation and says both ranked alike', () => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'perf', '--suite', 'eval', '--sizes', '3000', '--peer', 'faiss', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((row) => `${row.name} ${row.backend}`)).toEqual(['exact-retrieval js', 'exact-retrieval faiss', 'exact-retrieval-query-gallery js']);
    const peer = rows[1]!;
    expect(peer.impl).toBe('peer top-1000');
    expect(peer.error).toMatch(/IndexFlatIP, top 1000 only; same Recall@K as ours; our full evaluation [\d.]+× faster/);
    expect(peer.speedup).toBeCloseTo((peer.medianMs as number) / (rows[0]!.medianMs as number), 1);
  }, 120_000);
});
