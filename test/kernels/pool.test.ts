import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runTasks, workerScript } from '../../src/kernels/pool.js';

// Worker threads run the compiled worker module (dist/kernels/worker.js; the test command builds
// first); a task module is plain JS, so the tasks here are written to a scratch directory.
const dir = mkdtempSync(join(tmpdir(), 'rankbench-pool-'));
const squares = join(dir, 'squares.mjs');
writeFileSync(
  squares,
  `export function runTask({ counter, out }) {
  const c = new Int32Array(counter);
  const o = new Float64Array(out);
  for (let i = Atomics.add(c, 0, 1); i < o.length; i = Atomics.add(c, 0, 1)) o[i] = i * i;
  Atomics.add(c, 1, 1);
}
`,
);
const failing = join(dir, 'failing.mjs');
writeFileSync(failing, `export function runTask() { throw new Error('task failed on purpose'); }\n`);

describe('kernel pool tasks (runTasks)', () => {
  it('finds the compiled worker module when run from sources', () => {
    expect(workerScript()?.pathname).toMatch(/dist\/kernels\/worker\.js$/);
  });

  it('runs a task on every thread, sharing out the work through shared memory', async () => {
    const counter = new SharedArrayBuffer(8);
    const out = new SharedArrayBuffer(1000 * 8);
    await runTasks(pathToFileURL(squares), { counter, out }, 3);
    expect(new Int32Array(counter)[1]).toBe(3);
    const got = Array.from(new Float64Array(out));
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i * i));
  });

  it('rejects when a task throws', async () => {
    await expect(runTasks(pathToFileURL(failing), {}, 2)).rejects.toThrow(/task failed on purpose/);
  });
});
