import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTorchPython, NO_TORCH_MESSAGE, TorchPeer } from '../src/perf/peers.js';

const bench = (...args: string[]) =>
  spawnSync(process.execPath, ['dist/cli/main.js', 'perf', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

describe('bench perf', () => {
  it('prints one JSON object per case with the documented fields (losses, tiny sizes)', () => {
    const r = bench('--suite', 'losses', '--sizes', '16,24', '--json', '--tensor-backends', 'cpu');
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // 4 built-in losses × 2 sizes × (fused float64 + fused float32 + tensor on cpu)
    expect(rows).toHaveLength(24);
    for (const row of rows) {
      expect(row).toMatchObject({ suite: 'losses', D: 512, P: 4 });
      expect([16, 24]).toContain(row.B);
      expect(['fused', 'fused-f32', 'tensor']).toContain(row.impl);
      expect(row.minMs).toBeLessThanOrEqual(row.medianMs);
      expect(row.medianMs).toBeLessThanOrEqual(row.maxMs);
      expect(row.peakRssMb).toBeGreaterThan(10);
      expect(
        Object.keys(row).every((k) =>
          ['suite', 'name', 'impl', 'backend', 'B', 'D', 'P', 'N', 'medianMs', 'minMs', 'maxMs', 'peakRssMb', 'repeats', 'error'].includes(k),
        ),
      ).toBe(true);
    }
    expect(new Set(rows.map((x) => x.name))).toEqual(new Set(['smooth-ap', 'triplet', 'fast-ap', 'blackbox-ap']));
  });

  it('measures the evaluation and a training step', () => {
    const ev = bench('--suite', 'eval', '--sizes', '500', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    const evRows = ev.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(evRows.map((r) => r.name)).toEqual(['exact-retrieval', 'exact-retrieval-query-gallery']);
    for (const r of evRows) expect(r).toMatchObject({ suite: 'eval', N: 500, D: 128 });
    const tr = bench('--suite', 'train', '--sizes', '32', '--loss', 'smooth-ap', '--tensor-backends', 'wasm');
    expect(tr.status, tr.stderr).toBe(0);
    expect(tr.stdout).toMatch(/\| train\s+\| mlp\+smooth-ap\s+\| adam-step\s+\| wasm\s+\| 32 /);
    // The step's parts, each alone: the model's matmuls and the loss.
    expect(tr.stdout).toMatch(/\| train\s+\| mlp 784→256→128\s+\| matmuls-only\s+\| wasm\s+\| 32 /);
    expect(tr.stdout).toMatch(/\| train\s+\| smooth-ap\s+\| loss-only\s+\| wasm\s+\| 32 /);
  });

  it('rejects a bad suite or size with one line', () => {
    const r = bench('--suite', 'everything');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toBe('bench: --suite: "everything" is not allowed; expected one of losses, eval, train, all');
    const s = bench('--sizes', '64,x');
    expect(s.status).not.toBe(0);
    expect(s.stderr).toMatch(/^bench: --sizes: "64,x" is not allowed/);
  });

  it('--peer torch without a python3 that imports torch: one line saying how to get it, our cases still measured', () => {
    const r = spawnSync(
      process.execPath,
      ['dist/cli/main.js', 'perf', '--suite', 'losses', '--sizes', '12', '--loss', 'triplet', '--tensor-backends', '', '--peer', 'torch', '--json'],
      {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true', RANKBENCH_PYTHON: '/nonexistent/python3' },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe(NO_TORCH_MESSAGE);
    expect(NO_TORCH_MESSAGE).toContain('apt-get install python3-torch');
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).impl),
    ).toEqual(['fused', 'fused-f32']);
    const bad = bench('--peer', 'numpy', '--suite', 'losses', '--sizes', '12');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim()).toBe('bench: --peer: "numpy" is not allowed; expected torch, faiss or both comma-separated');
  });

  // Needs python3 with torch (Debian's python3-torch, which .ci/run installs): skipped without it, except under CI.
  it.skipIf(findTorchPython() === null && !process.env.CI)(
    'the peer script times a loss only after it agrees with ours on the batch',
    async () => {
      const peer = await TorchPeer.start(findTorchPython()!);
      const dir = mkdtempSync(join(tmpdir(), 'peer-test-'));
      try {
        expect(Object.keys(peer.peers).sort()).toEqual(['blackbox-ap', 'fast-ap', 'smooth-ap', 'triplet']);
        // B = 4 unit vectors in D = 2 at angles 0, 0.5, 0.2, 1.3 (no two pairs equally far apart), classes
        // {0, 1} and {2, 3}; exact ranks (Blackbox-AP at margin 0), the query one of its own positives:
        // q0: by angle distance 0, 2, 1, 3 → positives at ranks 1, 3 → AP (1/1 + 2/3)/2
        // q1: 1, 2, 0, 3 → ranks 1, 3 → (1 + 2/3)/2;  q2: 2, 0, 1, 3 → ranks 1, 4 → (1 + 2/4)/2
        // q3: 3, 1, 2, 0 → ranks 1, 3 → (1 + 2/3)/2
        const angles = [0, 0.5, 0.2, 1.3];
        const x = new Float64Array(angles.flatMap((a) => [Math.cos(a), Math.sin(a)]));
        const labels = [0, 0, 1, 1];
        const file = join(dir, 'x.f64');
        writeFileSync(file, new Uint8Array(x.buffer));
        const ap = [5 / 6, 5 / 6, 3 / 4, 5 / 6];
        const loss = 1 - ap.reduce((a, b) => a + b) / 4;
        const req = {
          loss: 'blackbox-ap',
          B: 4,
          D: 2,
          labels,
          x: file,
          params: { lambda: 4, margin: 0.02 },
          checkParams: { lambda: 4, margin: 0 },
          repeats: 2,
          budgetMs: 2_000,
          threads: 1,
        };
        const wrong = await peer.run({ ...req, expect: loss + 0.01 });
        expect(wrong.ok).toBe(false);
        expect(!wrong.ok && wrong.error).toMatch(/^peer disagrees: its loss 0\.1875\d*, rankbench's 0\.197(5|49)/);
        const right = await peer.run({ ...req, expect: loss });
        expect(right).toMatchObject({ ok: true, repeats: 2 });
        expect(right.ok && Math.abs(right.peerLoss! - loss)).toBeLessThan(1e-5);
        expect(right.ok && right.timesMs.length).toBe(2);
        // A later round (timeOnly) is timed without a check: even a wrong `expect` gets its repeats.
        const later = await peer.run({ ...req, expect: loss + 0.01, repeats: 3, timeOnly: true });
        expect(later).toMatchObject({ ok: true, repeats: 3, peerLoss: null });
        expect(later.ok && later.timesMs.length).toBe(3);
        expect(later.ok && later.timesMs.every((t) => t > 0 && t >= later.minMs - 0.01 && t <= later.maxMs + 0.01)).toBe(true);
      } finally {
        peer.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it.skipIf(findTorchPython() === null && !process.env.CI)(
    'with a peer, ours and the peer are timed in alternating rounds and each row pools its rounds',
    () => {
      const r = bench('--suite', 'losses', '--sizes', '12', '--loss', 'fast-ap', '--tensor-backends', '', '--peer', 'torch', '--json');
      expect(r.status, r.stderr).toBe(0);
      const rows = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(rows.map((x) => x.impl)).toEqual(['fused', 'fused-f32', 'peer']);
      // 6 rounds: 7 of ours per precision and 5 of the peer's in each (tiny batch, far inside the budgets).
      expect(rows.map((x) => x.repeats)).toEqual([42, 42, 30]);
      expect(rows[2].error).toMatch(/; 6 alternating rounds$/);
      expect(rows[2].speedup).toBeCloseTo(rows[2].medianMs / rows[1].medianMs, 0);
    },
    120_000,
  );
});
