import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const bench = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

describe('--backend', () => {
  // The native backends are optional peers whose install downloads libtensorflow; here they are absent.
  const nativeInstalled = existsSync('node_modules/@tensorflow/tfjs-node-gpu') || existsSync('node_modules/@tensorflow/tfjs-node');

  it.runIf(!nativeInstalled)('says in one line how to install tensorflow-gpu when it is not installed, and exits non-zero', () => {
    const r = bench('--backend', 'tensorflow-gpu', 'perf', '--suite', 'train', '--sizes', '8');
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^bench: --backend tensorflow-gpu: @tensorflow\/tfjs-node-gpu is not installed; install it with "npm install @tensorflow\/tfjs-node-gpu@4\.22\.0".*CUDA/);
    expect(r.stdout).toBe('');
  });

  it.runIf(!nativeInstalled)('the same for tensorflow (CPU native)', () => {
    const r = bench('--backend', 'tensorflow', 'perf', '--suite', 'train', '--sizes', '8');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^bench: --backend tensorflow: @tensorflow\/tfjs-node is not installed; install it with "npm install @tensorflow\/tfjs-node@4\.22\.0"/);
  });

  it('rejects an unknown backend, naming the allowed ones', () => {
    const r = bench('--backend', 'webgpu', 'perf', '--suite', 'train', '--sizes', '8');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toBe('bench: --backend: "webgpu" is not a backend; allowed: cpu, wasm, tensorflow, tensorflow-gpu');
  });

  it.runIf(nativeInstalled)('uses an installed native backend', () => {
    const name = existsSync('node_modules/@tensorflow/tfjs-node-gpu') ? 'tensorflow-gpu' : 'tensorflow';
    const r = bench('--backend', name, 'perf', '--suite', 'train', '--sizes', '8', '--loss', 'triplet');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`mlp\\+triplet \\| adam-step \\| ${name}`));
  });
});
