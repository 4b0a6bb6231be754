import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/core/params.js';
import { mnist } from '../../src/data/mnist.js';

const params = (given: Record<string, unknown> = {}) => resolveParams(mnist.params, given, 'dataset mnist');

// Read the package's files here, independently of the loader, to know what it should return.
const root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
const rawDigits = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as { data: number[] }).data);
const expectedCounts = rawDigits.map((data) => data.length / 784);

function countsOf(labels: Int32Array): number[] {
  const out = new Array<number>(10).fill(0);
  for (const l of labels) out[l]!++;
  return out;
}

describe('mnist dataset', () => {
  it('loads all 10,000 digits with the per-class counts of the package files (863–1,127)', async () => {
    const ds = await mnist.load(params(), { seed: 0 });
    expect(ds.splitKind).toBe('closed-set');
    expect(ds.train.n + ds.test.n).toBe(10_000);
    const total = countsOf(ds.train.labels).map((c, d) => c + countsOf(ds.test.labels)[d]!);
    expect(total).toEqual(expectedCounts);
    expect(Math.min(...total)).toBe(863);
    expect(Math.max(...total)).toBe(1127);
    // Closed-set: each class split in halves (rounded) between train and test.
    countsOf(ds.train.labels).forEach((c, d) => expect(c).toBe(Math.round(expectedCounts[d]! / 2)));
    expect(ds.train.dim).toBe(784);
    expect(ds.train.imageShape).toEqual([28, 28, 1]);
    expect(ds.test.x.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('class-disjoint: digits 0–4 train, 5–9 test, rows equal to the package data in order', async () => {
    const ds = await mnist.load(params({ split: 'class-disjoint' }), { seed: 0 });
    expect(ds.splitKind).toBe('class-disjoint');
    expect(countsOf(ds.train.labels)).toEqual([...expectedCounts.slice(0, 5), 0, 0, 0, 0, 0]);
    expect(countsOf(ds.test.labels)).toEqual([0, 0, 0, 0, 0, ...expectedCounts.slice(5)]);
    // First train row = first digit 0; first test row = first digit 5; last test row = last digit 9.
    expect(Array.from(ds.train.x.subarray(0, 784))).toEqual(rawDigits[0]!.slice(0, 784).map(Math.fround));
    expect(Array.from(ds.test.x.subarray(0, 784))).toEqual(rawDigits[5]!.slice(0, 784).map(Math.fround));
    expect(Array.from(ds.test.x.subarray((ds.test.n - 1) * 784))).toEqual(rawDigits[9]!.slice(-784).map(Math.fround));
  });

  it('perClassLimit keeps the first digits of each class', async () => {
    const ds = await mnist.load(params({ perClassLimit: 20, split: 'class-disjoint' }), { seed: 0 });
    expect(countsOf(ds.train.labels)).toEqual([20, 20, 20, 20, 20, 0, 0, 0, 0, 0]);
    expect(Array.from(ds.train.x.subarray(20 * 784, 21 * 784))).toEqual(rawDigits[1]!.slice(0, 784).map(Math.fround));
  });

  it('the closed-set split depends on the data seed only', async () => {
    const a = await mnist.load(params({ perClassLimit: 30 }), { seed: 1 });
    const b = await mnist.load(params({ perClassLimit: 30 }), { seed: 2 });
    const c = await mnist.load(params({ perClassLimit: 30, seed: 5 }), { seed: 1 });
    expect(Buffer.from(a.test.x.buffer).equals(Buffer.from(b.test.x.buffer))).toBe(true);
    expect(Buffer.from(a.test.x.buffer).equals(Buffer.from(c.test.x.buffer))).toBe(false);
  });
});
