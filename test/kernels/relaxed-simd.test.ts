import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { relaxedSimdAvailable } from '../../src/kernels/relaxed-simd.js';

const probe = `import('./dist/kernels/relaxed-simd.js').then((m) => console.log(String(m.relaxedSimdAvailable())))`;

describe('relaxed SIMD for the evaluation kernel', () => {
  it('is turned on in this engine (Node 20 keeps it behind a V8 flag that rankbench sets)', () => {
    expect(relaxedSimdAvailable()).toBe(true);
  });

  it('stays off with RANKBENCH_RELAXED_SIMD=0, and a fresh process turns it on by itself', () => {
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout.trim();
    expect(run({ RANKBENCH_RELAXED_SIMD: '0' })).toBe('false');
    expect(run({ RANKBENCH_RELAXED_SIMD: '' })).toBe('true');
  });
});
