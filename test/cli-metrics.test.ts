import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The CLI runs from dist/ (the test command runs tsc first).
const main = join(process.cwd(), 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-metrics-'));

/** Async, so that the cases (each a CLI start-up of ~1 s CPU) run side by side. */
function bench(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

// The hand-worked set of test/metrics/retrieval.test.ts (derivation there), with labels given
// as a mix of strings and numbers: "a" is one class, 1 another.
const handWorked = file('hand.json', JSON.stringify({ embeddings: [[2], [1], [1], [0], [-1]], labels: ['a', 1, 'a', 1, 'a'] }));

describe.concurrent('bench metrics', () => {
  it('prints the metrics of the hand-worked set', async () => {
    expect(existsSync(main)).toBe(true);
    const r = await bench('metrics', '--input', handWorked, '--k', '1,2,3');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.map).toBeCloseTo(27 / 60, 14);
    expect(out.mapAtR).toBeCloseTo(3 / 20, 14);
    expect(out.rPrecision).toBeCloseTo(1 / 5, 14);
    expect(out.precisionAt1).toBeCloseTo(1 / 5, 14);
    expect(out.recallAt).toEqual({ '1': 0.2, '2': 0.6, '3': 1 });
  });

  it('uses the default K list and writes --output instead of stdout', async () => {
    const outPath = join(dir, 'sub', 'out.json');
    const r = await bench('metrics', '--input', handWorked, '--output', outPath);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const out = JSON.parse(readFileSync(outPath, 'utf8'));
    expect(Object.keys(out.recallAt)).toEqual(['1', '2', '4', '8']);
    // first-positive ranks [2,3,1,2,3]: every query has a positive within 4
    expect(out.recallAt['4']).toBe(1);
    expect(out.recallAt['2']).toBeCloseTo(0.6, 14);
  });

  const bad: [string, string[], RegExp][] = [
    ['a missing file', ['--input', join(dir, 'nope.json')], /cannot read the file \(ENOENT\)/],
    ['bad JSON', ['--input', file('bad.json', '{"embeddings": [[1, 2]')], /not valid JSON/],
    ['a NaN literal', ['--input', file('nan.json', '{"embeddings": [[1, NaN], [0, 1]], "labels": [0, 0]}')], /contains NaN/],
    ['a null value', ['--input', file('null.json', '{"embeddings": [[1, null], [0, 1]], "labels": [0, 0]}')], /embeddings\[0\]\[1\] is null/],
    ['ragged rows', ['--input', file('ragged.json', '{"embeddings": [[1, 2], [3]], "labels": [0, 0]}')], /ragged embeddings: row 1 has 1 values, row 0 has 2/],
    ['a label count different from the rows', ['--input', file('count.json', '{"embeddings": [[1], [2], [3]], "labels": [0, 0]}')], /2 labels for 3 embedding rows/],
    ['a label that is neither number nor string', ['--input', file('lab.json', '{"embeddings": [[1], [2]], "labels": [0, true]}')], /labels\[1\] is true/],
    ['no embeddings field', ['--input', file('nofield.json', '{"labels": [0]}')], /"embeddings" must be an array/],
    ['only singleton classes', ['--input', file('single.json', '{"embeddings": [[1], [2]], "labels": [0, 1]}')], /no item has another item of its class/],
    ['--k 0', ['--input', handWorked, '--k', '0'], /--k: "0" is not allowed/],
    ['--k with a non-number', ['--input', handWorked, '--k', '1,a'], /--k: "1,a" is not allowed/],
    ['--k with an empty entry', ['--input', handWorked, '--k', '1,,2'], /--k: "1,,2" is not allowed/],
    ['no --input', [], /input/],
  ];
  for (const [name, args, message] of bad) {
    it(`rejects ${name} with one line and a non-zero exit`, async () => {
      const r = await bench('metrics', ...args);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0].startsWith('bench: ')).toBe(true);
      expect(lines[0]).toMatch(message);
    });
  }
});
