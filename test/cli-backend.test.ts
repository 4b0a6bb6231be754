import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const bench = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

// The native backends are optional peers whose install downloads libtensorflow: absent here and in
// CI, present on a user's CUDA machine. Each test checks whichever behaviour applies.
const installed = (pkg: string): boolean => existsSync(`node_modules/@tensorflow/${pkg}`);

describe('--backend', () => {
  for (const [name, pkg] of [
    ['tensorflow-gpu', 'tfjs-node-gpu'],
    ['tensorflow', 'tfjs-node'],
  ] as const) {
    it(`${name}: one line saying how to install ${pkg} when absent; a working backend when present`, () => {
      const r = bench('--backend', name, 'perf', '--suite', 'train', '--sizes', '8', '--loss', 'triplet');
      if (installed(pkg)) {
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`mlp\\+triplet \\| adam-step \\| ${name}`));
        return;
      }
      expect(r.status).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^bench: --backend ${name}: @tensorflow/${pkg} is not installed; install it with "npm install @tensorflow/${pkg}@4\\.22\\.0"`),
      );
      if (name === 'tensorflow-gpu') expect(lines[0]).toMatch(/CUDA/);
      expect(r.stdout).toBe('');
    });
  }

  // The flag is checked before any command runs, so a command that needs no tfjs (a float64
  // kernel, a listing) cannot silently ignore it.
  for (const args of [['loss', 'smooth-ap', '--input', 'no-such-batch.json'], ['list'], ['metrics', '--input', 'no-such-emb.json']]) {
    it(`an absent backend fails ${args[0]} too, before the command reads anything`, () => {
      if (installed('tfjs-node-gpu')) return;
      const r = bench('--backend', 'tensorflow-gpu', ...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^bench: --backend tensorflow-gpu: @tensorflow\/tfjs-node-gpu is not installed/);
      expect(r.stdout).toBe('');
    });
  }

  it('a backend that exists is accepted by a command that does not use it', () => {
    const r = bench('--backend', 'cpu', 'list', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBeTypeOf('object');
  });

  it('rejects an unknown backend, naming the allowed ones', () => {
    const r = bench('--backend', 'webgpu', 'perf', '--suite', 'train', '--sizes', '8');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toBe('bench: --backend: "webgpu" is not a backend; allowed: cpu, wasm, tensorflow, tensorflow-gpu');
  });
});
