import { describe, expect, it, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lossCommand from '../src/cli/commands/loss.js';
import { UserError } from '../src/core/errors.js';
import { bruteExactAp, bruteSmoothAp, centralDiff, maxAbsDiff, meanOfValid, relErr } from './losses/oracles.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-loss-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function bench(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: process.cwd() }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

// Hand-made batch: string labels in no particular order, a singleton class, no tied scores.
const rows = [
  [1, 0, 0],
  [0.6, 0.3, 0.1],
  [0, 1, 0.2],
  [0.1, 0.9, -0.3],
  [0.7, 0.7, 0],
  [0.2, -0.5, 0.8],
  [0.4, 0.1, 0.9],
];
const labelNames = ['cat', 'cat', 'dog', 'dog', 'owl', 'cat', 'dog'];
const n = rows.length;
const d = rows[0]!.length;
const x = Float64Array.from(rows.flat());
const labels = Int32Array.from(labelNames.map((l) => ['cat', 'dog', 'owl'].indexOf(l)));
let batch = '';

/** Runs the command's handler in this process (same code as the CLI after argument parsing), returning its JSON. */
async function handle(args: { name: string; input: string; set?: string[]; seed?: number; plugin?: string[] }): Promise<Record<string, unknown>> {
  const output = join(dir, `out-${Math.random().toString(36).slice(2)}.json`);
  await (lossCommand.handler as (a: unknown) => Promise<void>)({ seed: 0, ...args, output, _: [], $0: 'bench' });
  return JSON.parse(readFileSync(output, 'utf8')) as Record<string, unknown>;
}

/** A failed run: non-zero exit and exactly one stderr line "bench: ..." matching `pattern`. */
function expectOneLineError(r: Run, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^bench: /);
  expect(lines[0]).toMatch(pattern);
}

beforeAll(() => {
  expect(existsSync(CLI), 'run `npx tsc -p .` first: the CLI runs from dist/').toBe(true);
  batch = file('batch.json', JSON.stringify({ embeddings: rows, labels: labelNames }));
});

describe.concurrent('bench loss', () => {
  it('prints loss, B×D gradient, AP estimate and true AP (same convention) for smooth-ap', async () => {
    const r = await bench('loss', 'smooth-ap', '--input', batch);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.params).toEqual({ tau: 0.01, includeQuery: true });
    const want = bruteSmoothAp(x, n, d, labels, 0.01, true);
    expect(Math.abs(out.loss - want.loss)).toBeLessThan(1e-12);
    expect(Math.abs(out.apEstimate - (1 - want.loss))).toBeLessThan(1e-12);
    expect(out.includeQuery).toBe(true);
    expect(Math.abs(out.trueAP - meanOfValid(bruteExactAp(x, n, d, labels, true)))).toBeLessThan(1e-12);
    expect(out.grad).toHaveLength(n);
    expect(out.grad.every((row: number[]) => row.length === d)).toBe(true);
  });

  it('--set overrides parameters (types coerced) and the gradient matches finite differences', async () => {
    const r = await bench('loss', 'smooth-ap', '--input', batch, '--set', 'tau=0.2', '--set', 'includeQuery=false');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.params).toEqual({ tau: 0.2, includeQuery: false });
    expect(Math.abs(out.loss - bruteSmoothAp(x, n, d, labels, 0.2, false).loss)).toBeLessThan(1e-12);
    expect(Math.abs(out.trueAP - meanOfValid(bruteExactAp(x, n, d, labels, false)))).toBeLessThan(1e-12);
    const fd = centralDiff((y) => bruteSmoothAp(y, n, d, labels, 0.2, false).loss, x);
    expect(relErr(out.grad.flat(), fd)).toBeLessThan(1e-6);
  });

  it('a non-surrogate loss has no AP estimate and its true AP uses the standard convention', async () => {
    const out = (await handle({ name: 'triplet', input: batch, set: ['mining=all', 'margin=0.5'] })) as {
      apEstimate: null;
      includeQuery: boolean;
      trueAP: number;
      loss: number;
    };
    expect(out.apEstimate).toBeNull();
    expect(out.includeQuery).toBe(false);
    expect(Math.abs(out.trueAP - meanOfValid(bruteExactAp(x, n, d, labels, false)))).toBeLessThan(1e-12);
    expect(out.loss).toBeGreaterThan(0);
  });

  it('--seed fixes Blackbox-AP margin noise; another seed draws other noise', async () => {
    const r = await bench('loss', 'blackbox-ap', '--input', batch, '--set', 'margin=3', '--seed', '1');
    expect(r.code).toBe(0);
    const same = await handle({ name: 'blackbox-ap', input: batch, set: ['margin=3'], seed: 1 });
    const other = await handle({ name: 'blackbox-ap', input: batch, set: ['margin=3'], seed: 2 });
    expect(JSON.parse(r.stdout)).toEqual(same);
    expect(same.loss).not.toBe(other.loss);
  });

  it('--output writes the JSON to a file (creating its folder) and nothing to stdout', async () => {
    const target = join(dir, 'sub', 'out.json');
    const r = await bench('loss', 'fast-ap', '--input', batch, '--set', 'bins=12', '--output', target);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const out = JSON.parse(readFileSync(target, 'utf8'));
    expect(out).toEqual(await handle({ name: 'fast-ap', input: batch, set: ['bins=12'] }));
    expect(out.params).toEqual({ bins: 12 });
    expect(out.includeQuery).toBe(false);
  });

  it('--plugin loads a user loss file and bench loss runs it (tfjs autodiff, no kernel)', async () => {
    const r = await bench('--plugin', 'test/fixtures/my-loss.js', 'loss', 'my-loss', '--input', batch, '--set', 'scale=2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    // loss = 2·mean‖x_i‖², ∂/∂x_i = 4·x_i/B.
    let sq = 0;
    for (const v of x) sq += v * v;
    expect(Math.abs(out.loss - (2 * sq) / n)).toBeLessThan(1e-5);
    expect(
      maxAbsDiff(
        out.grad.flat(),
        [...x].map((v) => (4 * v) / n),
      ),
    ).toBeLessThan(1e-6);
    expect(out.apEstimate).toBeNull();
  });

  it('a malformed plugin is rejected naming the missing field', async () => {
    const bad = file('broken-loss.mjs', "export default { name: 'broken', description: 'no compute', params: [] };\n");
    const r = await bench('--plugin', bad, 'loss', 'broken', '--input', batch);
    expectOneLineError(r, /missing field "compute"/);
  });

  const badCases: [string, () => { name: string; input: string; set?: string[]; seed?: number }, RegExp][] = [
    ['unknown loss', () => ({ name: 'smooth-apx', input: batch }), /unknown loss "smooth-apx"; available: smooth-ap, triplet, fast-ap, blackbox-ap/],
    ['unknown parameter', () => ({ name: 'smooth-ap', input: batch, set: ['temperature=0.1'] }), /unknown parameter "temperature"; allowed: tau, includeQuery/],
    ['out-of-range parameter', () => ({ name: 'smooth-ap', input: batch, set: ['tau=0'] }), /tau: "0" is not allowed; expected a number > 0/],
    ['wrong-type parameter', () => ({ name: 'fast-ap', input: batch, set: ['bins=2.5'] }), /bins: "2.5" is not allowed; expected an integer/],
    ['--set without =', () => ({ name: 'fast-ap', input: batch, set: ['bins'] }), /--set: "bins" is not key=value/],
    ['bad seed', () => ({ name: 'blackbox-ap', input: batch, seed: -3 }), /--seed: -3 is not allowed/],
    [
      'ragged embeddings',
      () => ({ name: 'smooth-ap', input: file('ragged.json', '{"embeddings": [[1, 0], [0, 1, 2]], "labels": [0, 0]}') }),
      /ragged embeddings: row 1 has 3 values, row 0 has 2/,
    ],
    [
      'label count different from rows',
      () => ({ name: 'smooth-ap', input: file('count.json', '{"embeddings": [[1, 0], [0, 1]], "labels": [0, 0, 1]}') }),
      /3 labels for 2 embedding rows/,
    ],
    ['NaN literal in the input', () => ({ name: 'smooth-ap', input: file('nan.json', '{"embeddings": [[1, NaN], [0, 1]], "labels": [0, 0]}') }), /NaN/],
    [
      'null value in the embeddings',
      () => ({ name: 'smooth-ap', input: file('null.json', '{"embeddings": [[1, 0], [null, 1]], "labels": [0, 0]}') }),
      /embeddings\[1\]\[0\] is null; every value must be a finite number/,
    ],
    ['missing input file', () => ({ name: 'smooth-ap', input: join(dir, 'nope.json') }), /cannot read the file/],
    [
      'no query with a positive',
      () => ({ name: 'fast-ap', input: file('single.json', '{"embeddings": [[1, 0], [0, 1]], "labels": ["a", "b"]}') }),
      /no query in the batch of 2 has another item of its class/,
    ],
  ];
  for (const [what, args, pattern] of badCases) {
    it(`bad input: ${what} is a one-line UserError naming the problem`, async () => {
      const err = await handle(args()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(pattern);
      expect((err as Error).message).not.toContain('\n');
    });
  }

  // The same errors through the real CLI: "bench: <message>" on one stderr line and a non-zero exit.
  const throughCli: [string, () => string[], RegExp][] = [
    ['unknown loss', () => ['loss', 'smooth-apx', '--input', batch], /unknown loss "smooth-apx"/],
    ['out-of-range parameter', () => ['loss', 'smooth-ap', '--input', batch, '--set', 'tau=-1'], /tau: "-1" is not allowed/],
    [
      'NaN in the input',
      () => ['loss', 'triplet', '--input', file('nan2.json', '{"embeddings": [[1, 0], [0, NaN]], "labels": [0, 1]}')],
      /contains NaN; every value must be a finite number/,
    ],
  ];
  for (const [what, args, pattern] of throughCli) {
    it(`bench loss with ${what}: one "bench:" line on stderr, non-zero exit`, async () => {
      expectOneLineError(await bench(...args()), pattern);
    });
  }
});
