import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { protocolOf } from '../src/experiments/eval-protocol.js';
import { loadExperiment } from '../src/index.js';
import { tempDir, writeYaml } from './experiments/helpers.js';

const CLI = resolve('dist/cli/main.js');

function bench(...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('bench list: the eval.* keys', () => {
  const listed = (JSON.parse(bench('list', '--json')) as { experimentKeys: { eval: Array<{ name: string; default: unknown }> } }).experimentKeys.eval;
  const defaults = Object.fromEntries(listed.map((e) => [e.name, e.default]));

  it('are the defaults a run uses for an experiment that sets no eval key', async () => {
    const file = writeYaml(tempDir(), 'no-eval', 'base:\n  dataset: { name: synthetic }\n  loss: { name: smooth-ap }\n');
    const { cells } = await loadExperiment(file);
    const used = cells[0]!.config.eval;
    // What the run evaluates with: its K and estimate batches, and the protocol with every gap filled.
    expect(defaults).toEqual({ k: used.k, estimateBatches: used.estimateBatches, ...protocolOf(used) });
    // The documented defaults (README, field notes): Recall@1/2/4/8, leave-one-out on dot products.
    expect(defaults).toMatchObject({ k: [1, 2, 4, 8], protocol: 'leave-one-out', similarity: 'dot', averaging: 'query' });
  });

  it('are the keys and defaults of the JSON Schema that editors check files with', () => {
    const schema = JSON.parse(bench('schema')) as {
      properties: { base: { properties: { eval: { properties: Record<string, { default?: unknown }> } } } };
    };
    const props = schema.properties.base.properties.eval.properties;
    expect(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.default]))).toEqual(defaults);
  });

  it('the text listing prints the same default for each key, in the same order', () => {
    const lines = [...bench('list').matchAll(/^ {4}eval\.(\w+) = (\S+)/gm)].map((m) => [m[1], m[2]]);
    expect(lines).toEqual(listed.map((e) => [e.name, Array.isArray(e.default) ? `[${e.default.join(',')}]` : String(e.default)]));
  });
});
