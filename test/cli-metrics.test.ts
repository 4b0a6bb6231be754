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

/** A float32 rows × d .npy (format 1.0: header padded with spaces to a multiple of 64, ending in a newline). */
function npyF4(name: string, rows: number[][]): string {
  const d = rows[0]!.length;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${d}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const body = Buffer.alloc(4 * rows.length * d);
  rows.flat().forEach((v, i) => body.writeFloatLE(v, 4 * i));
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
  return p;
}

// Queries against a separate gallery, hand-worked in test/metrics/query-gallery.test.ts: gallery
// [3 A, 2 B, 1 A, 2 A], queries [1 A, -1 B, 5 C]: per query AP 29/36 and 1/3, MAP@R 5/9 and 0,
// R-precision 2/3 and 0, first ranks 1 and 2; the C query has no positive and is left out.
const qJson = file('q.json', JSON.stringify({ embeddings: [[1], [-1], [5]], labels: ['A', 'B', 'C'] }));
const gJson = file('g.json', JSON.stringify({ embeddings: [[3], [2], [1], [2]], labels: ['A', 'B', 'A', 'A'] }));
const qNpy = npyF4('q.npy', [[1], [-1], [5]]);
const qLabels = file('q-labels.txt', 'A\nB\nC\n');
const gCsv = file('g.csv', 'f0,label\n3,A\n2,B\n1,A\n2,A\n');

function expectHandQG(out: Record<string, unknown>): void {
  expect(out.protocol).toBe('query-gallery');
  expect(out.queries).toBe(2);
  expect(out.leftOut).toBe(1);
  expect(out.map as number).toBeCloseTo((29 / 36 + 1 / 3) / 2, 14);
  expect(out.mapAtR as number).toBeCloseTo(5 / 18, 14);
  expect(out.rPrecision as number).toBeCloseTo(1 / 3, 14);
  expect(out.precisionAt1).toBe(0.5);
  expect(out.mrr as number).toBeCloseTo(3 / 4, 14);
  expect(out.recallAt).toEqual({ '1': 0.5, '2': 1 });
}

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

  it('ranks --query against --gallery (JSON), reporting the protocol and the queries left out', async () => {
    const r = await bench('metrics', '--query', qJson, '--gallery', gJson, '--k', '1,2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expectHandQG(out);
    expect(out.similarity).toBe('dot');
    expect(out.averaging).toBe('query');
  });

  it('reads .npy with a labels file and CSV with a label column, matching labels across the two', async () => {
    const r = await bench('metrics', '--query', qNpy, '--query-labels', qLabels, '--gallery', gCsv, '--k', '1,2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectHandQG(JSON.parse(r.stdout));
  });

  it('evaluates a .npy --input in leave-one-out, with --similarity euclidean and --averaging class', async () => {
    // The hand-worked set as .npy with labels a 1 a 1 a. Euclidean in 1-D: q0 = 2 → distances
    // j1 1, j2 1, j3 2, j4 3: positives j2 (tie with j1, index order → rank 2), j4 (rank 4).
    // Leave-one-out, per-class averaging; checked against the dot result it must differ from.
    const x = npyF4('hand.npy', [[2], [1], [1], [0], [-1]]);
    const labels = file('hand-labels.txt', 'a\n1\na\n1\na\n');
    const r = await bench('metrics', '--input', x, '--labels', labels, '--similarity', 'euclidean', '--averaging', 'class', '--k', '1');
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.protocol).toBe('leave-one-out');
    expect(out.similarity).toBe('euclidean');
    // Per query (distance ascending, ties by index):
    // q0=2: j1 1, j2 1, j3 2, j4 3 → positives j2, j4; AP: at 1: 2 items 1 pos → 1/2; at 3: 4 items 2 pos → 1/2. AP 1/2, RR 1/2.
    // q2=1: j1 0, j0 1, j3 1, j4 2 → positives j0, j4; AP: j0 (dist 1: 3 items) 1/3; j4: 2/4; AP 5/12; RR 1/2 (order j1 j0).
    // q4=-1: j3 1, j1 2, j2 2, j0 3 → positives j2, j0; AP: j2 (dist 2: 3 items) 1/3; j0: 2/4; AP 5/12; RR 1/3.
    // q1=1: j2 0, j0 1, j3 1, j4 2 → positive j3; AP: dist 1: 3 items → 1/3; order j2 j0 j3 → RR 1/3.
    // q3=0: j1 1, j2 1, j4 1, j0 2 → positive j1; AP: 3 items at 1 → 1/3; order j1 first → RR 1.
    // class a: map (1/2 + 5/12 + 5/12)/3 = 4/9; class 1: (1/3 + 1/3)/2 = 1/3 → map (4/9 + 1/3)/2 = 7/18.
    // mrr: a (1/2 + 1/2 + 1/3)/3 = 4/9; 1: (1/3 + 1)/2 = 2/3 → (4/9 + 2/3)/2 = 5/9.
    expect(out.map).toBeCloseTo(7 / 18, 14);
    expect(out.mrr).toBeCloseTo(5 / 9, 14);
    expect(out.queries).toBe(5);
    expect(out.leftOut).toBe(0);
  });

  const bad: [string, string[], RegExp][] = [
    [
      'a query and gallery of different dimension',
      ['--query', qJson, '--gallery', file('g2.json', '{"embeddings": [[1, 2]], "labels": ["A"]}')],
      /--gallery ".*g2.json": rows of 2 values, but --query ".*q.json" has 1/,
    ],
    ['--query without --gallery', ['--query', qJson], /--gallery: missing/],
    ['--gallery without --query', ['--gallery', gJson], /--query: missing/],
    ['--input with --query', ['--input', handWorked, '--query', qJson, '--gallery', gJson], /--input: not allowed with --query/],
    ['an empty gallery', ['--query', qJson, '--gallery', file('g0.json', '{"embeddings": [], "labels": []}')], /--gallery ".*g0.json": "embeddings" is empty/],
    [
      'gallery labels of the wrong count',
      ['--query', qJson, '--gallery', file('g3.json', '{"embeddings": [[1], [2]], "labels": ["A"]}')],
      /--gallery ".*": 1 labels for 2 embedding rows/,
    ],
    [
      '.npy labels of the wrong count',
      ['--query', qNpy, '--query-labels', file('ql2.txt', 'A\nB\n'), '--gallery', gJson],
      /--query-labels ".*ql2.txt": 2 labels for 3 rows/,
    ],
    ['.npy without labels', ['--query', qNpy, '--gallery', gJson], /--query ".*q.npy": .npy features need --query-labels/],
    ['a CSV without the label column', ['--query', qJson, '--gallery', gCsv, '--label-column', 'cls'], /--label-column: "cls" is not a column of .*g.csv/],
    [
      'no query with a positive in the gallery',
      ['--query', qJson, '--gallery', file('gz.json', '{"embeddings": [[1]], "labels": ["Z"]}')],
      /none of the 3 queries/,
    ],
    [
      'an unknown --similarity',
      ['--input', handWorked, '--similarity', 'manhattan'],
      /--similarity: "manhattan" is not allowed; expected one of dot, cosine, euclidean/,
    ],
    ['an unknown --averaging', ['--input', handWorked, '--averaging', 'items'], /--averaging: "items" is not allowed/],
    ['a missing file', ['--input', join(dir, 'nope.json')], /cannot read the file \(ENOENT\)/],
    ['bad JSON', ['--input', file('bad.json', '{"embeddings": [[1, 2]')], /not valid JSON/],
    ['a NaN literal', ['--input', file('nan.json', '{"embeddings": [[1, NaN], [0, 1]], "labels": [0, 0]}')], /contains NaN/],
    ['a null value', ['--input', file('null.json', '{"embeddings": [[1, null], [0, 1]], "labels": [0, 0]}')], /embeddings\[0\]\[1\] is null/],
    ['ragged rows', ['--input', file('ragged.json', '{"embeddings": [[1, 2], [3]], "labels": [0, 0]}')], /ragged embeddings: row 1 has 1 values, row 0 has 2/],
    [
      'a label count different from the rows',
      ['--input', file('count.json', '{"embeddings": [[1], [2], [3]], "labels": [0, 0]}')],
      /2 labels for 3 embedding rows/,
    ],
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
