import { describe, expect, it } from 'vitest';
import { classFolds, foldView } from '../../src/data/folds.js';
import { synthetic } from '../../src/data/synthetic.js';
import { resolveParams } from '../../src/core/params.js';

/** 40 classes of 3 rows, class c in super-class c mod 5, rows in shuffled order. */
function labels(): Int32Array {
  const out: number[] = [];
  for (let c = 0; c < 40; c++) for (let k = 0; k < 3; k++) out.push(c);
  return Int32Array.from(out.reverse());
}

describe('class-disjoint validation folds', () => {
  it('are disjoint, cover every class, and differ in size by at most one class', () => {
    for (const k of [2, 3, 4, 7]) {
      const folds = classFolds(labels(), k, 11);
      const all = folds.flat();
      expect(new Set(all).size).toBe(all.length); // no class in two folds
      expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, c) => c));
      const sizes = folds.map((f) => f.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('are balanced by super-class: each fold holds a near-equal share of every super-class', () => {
    const superOf = Int32Array.from({ length: 40 }, (_, c) => c % 5);
    const folds = classFolds(labels(), 4, 3, superOf);
    for (let s = 0; s < 5; s++) {
      // 8 classes of each super-class over 4 folds: exactly 2 in each.
      expect(folds.map((f) => f.filter((c) => c % 5 === s).length)).toEqual([2, 2, 2, 2]);
    }
  });

  it('depend on the seed only through the dealing, and are reproducible from it', () => {
    expect(classFolds(labels(), 4, 5)).toEqual(classFolds(labels(), 4, 5));
    expect(classFolds(labels(), 4, 5)).not.toEqual(classFolds(labels(), 4, 6));
  });

  it('need at least two folds and as many classes as folds', () => {
    expect(() => classFolds(labels(), 1, 0)).toThrow(/expected an integer >= 2/);
    expect(() => classFolds(Int32Array.from([0, 0, 1, 1]), 3, 0)).toThrow(/3 folds need at least 3 train classes; the train split has 2/);
  });

  it("a fold view trains on the other folds' train rows and evaluates on its own, never on the test split", async () => {
    const params = resolveParams(synthetic.params, { classes: 40, perClass: 4, dim: 8, superClasses: 4 }, 'synthetic');
    const data = await synthetic.load(params, { seed: 0 });
    const trainClasses = new Set(data.train.labels);
    const testClasses = new Set(data.test.labels);
    const seen = new Set<number>();
    for (let fold = 0; fold < 4; fold++) {
      const v = foldView(data, { folds: 4, fold, seed: 0 });
      const fit = new Set(v.train.labels);
      const val = new Set(v.test.labels);
      expect([...val].some((c) => fit.has(c))).toBe(false); // class-disjoint
      for (const c of [...fit, ...val]) {
        expect(trainClasses.has(c)).toBe(true);
        expect(testClasses.has(c)).toBe(false);
      }
      expect(v.train.n + v.test.n).toBe(data.train.n); // every train row, once
      // The rows are the train split's own rows: each validation row equals one of them.
      const row = (s: typeof v.test, i: number) => Array.from(s.x.subarray(i * s.dim, (i + 1) * s.dim)).join(',');
      const trainRows = new Set(Array.from({ length: data.train.n }, (_, i) => row(data.train, i)));
      for (let i = 0; i < v.test.n; i++) expect(trainRows.has(row(v.test, i))).toBe(true);
      val.forEach((c) => seen.add(c));
    }
    expect(seen).toEqual(trainClasses); // the validation folds cover the train classes
  });
});
