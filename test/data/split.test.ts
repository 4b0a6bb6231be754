import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { classDisjointSplit, closedSetSplit, explicitSplit, makeSplit } from '../../src/data/split.js';
import type { Split } from '../../src/data/types.js';

/**
 * A pool whose first feature is the row's own index, so every split row can be traced back to
 * the pool row it came from; labels in a scrambled order with uneven class sizes.
 */
function pool(sizes: Record<number, number>): Split {
  const labels: number[] = [];
  for (const [c, k] of Object.entries(sizes)) for (let t = 0; t < k; t++) labels.push(Number(c));
  for (let i = labels.length - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  const n = labels.length;
  const dim = 3;
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) x.set([i, labels[i]! * 10, -i], i * dim);
  return { x, n, dim, labels: Int32Array.from(labels), imageShape: [1, 3, 1] };
}

/** Pool row ids of a split, checking each row is an intact copy of that pool row. */
function origin(all: Split, s: Split): number[] {
  const ids: number[] = [];
  for (let i = 0; i < s.n; i++) {
    const id = s.x[i * s.dim]!;
    expect(Array.from(s.x.subarray(i * s.dim, (i + 1) * s.dim))).toEqual(Array.from(all.x.subarray(id * all.dim, (id + 1) * all.dim)));
    expect(s.labels[i]).toBe(all.labels[id]);
    ids.push(id);
  }
  return ids;
}

const SIZES = { 3: 5, 40: 2, 7: 9, 12: 4, 100: 6, 5: 3, 9: 1 };

describe('class-disjoint split', () => {
  it('puts the first half of the classes (ascending label order) in train, the rest in test, every row once', () => {
    const all = pool(SIZES);
    const { train, test } = classDisjointSplit(all);
    const trainClasses = new Set(train.labels);
    const testClasses = new Set(test.labels);
    expect([...trainClasses].filter((c) => testClasses.has(c))).toEqual([]);
    // 7 classes sorted: 3 5 7 9 12 40 100; round(3.5) = 4 train classes.
    expect([...trainClasses].sort((a, b) => a - b)).toEqual([3, 5, 7, 9]);
    expect([...testClasses].sort((a, b) => a - b)).toEqual([12, 40, 100]);
    const ids = [...origin(all, train), ...origin(all, test)].sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: all.n }, (_, i) => i));
    expect(train.imageShape).toEqual([1, 3, 1]);
  });

  it('honours trainFraction and keeps at least one class on each side', () => {
    const all = pool(SIZES);
    expect(new Set(classDisjointSplit(all, 0.3).train.labels).size).toBe(2);
    expect(new Set(classDisjointSplit(all, 0.999).test.labels).size).toBe(1);
    expect(new Set(classDisjointSplit(all, 0.001).train.labels).size).toBe(1);
  });

  it('needs two classes', () => {
    expect(() => classDisjointSplit(pool({ 4: 10 }), 0.5, 'dataset d')).toThrow(UserError);
    expect(() => classDisjointSplit(pool({ 4: 10 }), 0.5, 'dataset d')).toThrow(/dataset d: .*at least 2 classes; the data have 1/);
  });
});

describe('closed-set split', () => {
  it('gives disjoint samples, every class of two or more on both sides, round(n/2) per class in train', () => {
    const all = pool(SIZES);
    const { train, test } = closedSetSplit(all, 42);
    const trainIds = origin(all, train);
    const testIds = origin(all, test);
    expect(trainIds.filter((id) => testIds.includes(id))).toEqual([]);
    expect([...trainIds, ...testIds].sort((a, b) => a - b)).toEqual(Array.from({ length: all.n }, (_, i) => i));
    for (const [c, size] of Object.entries(SIZES)) {
      const nTrain = train.labels.filter((l) => l === Number(c)).length;
      const nTest = test.labels.filter((l) => l === Number(c)).length;
      const expected = size < 2 ? size : Math.min(size - 1, Math.max(1, Math.round(size / 2)));
      expect([c, nTrain, nTest]).toEqual([c, expected, size - expected]);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const all = pool({ 0: 30, 1: 30, 2: 30 });
    const ids = (seed: number) => origin(all, closedSetSplit(all, seed).train);
    expect(ids(1)).toEqual(ids(1));
    expect(ids(1)).not.toEqual(ids(2));
  });

  it('makeSplit dispatches on the kind', () => {
    const all = pool(SIZES);
    expect(origin(all, makeSplit(all, 'closed-set', 3, 0.5).train)).toEqual(origin(all, closedSetSplit(all, 3).train));
    expect(origin(all, makeSplit(all, 'class-disjoint', 3, 0.5).test)).toEqual(origin(all, classDisjointSplit(all).test));
  });
});

describe('explicit split', () => {
  it('follows the flags and reports the kind it really is', () => {
    const all = pool({ 0: 2, 1: 2, 2: 2 });
    const disjoint = Uint8Array.from(all.labels, (l) => (l === 2 ? 0 : 1));
    const a = explicitSplit(all, disjoint);
    expect(a.kind).toBe('class-disjoint');
    expect([...a.test.labels]).toEqual([2, 2]);
    const mixed = Uint8Array.from(all.labels, (_, i) => i % 2);
    const b = explicitSplit(all, mixed);
    expect(origin(all, b.train)).toEqual(Array.from({ length: 3 }, (_, k) => 2 * k + 1));
    expect(b.kind).toBe(new Set(b.train.labels).size + new Set(b.test.labels).size > 3 ? 'closed-set' : 'class-disjoint');
  });

  it('rejects an empty side', () => {
    const all = pool({ 0: 2, 1: 2 });
    expect(() => explicitSplit(all, new Uint8Array(all.n).fill(1), 'dataset f')).toThrow(/dataset f: .*4 rows in train and 0 in test/);
  });
});
