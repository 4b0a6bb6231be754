import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { PKSampler } from '../../src/data/sampler.js';
import { expectUserError } from './helpers.js';

/** Labels with the given count per class (class ids as given), in a scrambled row order. */
function makeLabels(counts: Map<number, number>, seed = 99): Int32Array {
  const out: number[] = [];
  for (const [c, k] of counts) for (let t = 0; t < k; t++) out.push(c);
  // Fixed scramble so rows of a class are not adjacent; independent of the sampler's own Rng use.
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return Int32Array.from(out);
}

/**
 * Checks one batch against the PK contract (plain checks, one expect per batch, so that
 * thousands of batches stay fast); returns the class of each block.
 */
function checkBatch(batch: Int32Array, labels: Int32Array, b: number, p: number, distinctRows: boolean): number[] {
  const problems: string[] = [];
  if (batch.length !== b) problems.push(`length ${batch.length} != ${b}`);
  const blockClasses: number[] = [];
  for (let blk = 0; blk < b / p; blk++) {
    const rows = Array.from(batch.subarray(blk * p, (blk + 1) * p));
    if (!rows.every((r) => Number.isInteger(r) && r >= 0 && r < labels.length)) problems.push(`block ${blk}: row out of range`);
    const cls = labels[rows[0]!]!;
    if (!rows.every((r) => labels[r] === cls)) problems.push(`block ${blk}: mixed classes`);
    if (distinctRows && new Set(rows).size !== p) problems.push(`block ${blk}: repeated row`);
    blockClasses.push(cls);
  }
  if (new Set(blockClasses).size !== b / p) problems.push(`classes ${blockClasses.join(',')} not distinct`);
  expect(problems).toEqual([]);
  return blockClasses;
}

describe('PKSampler', () => {
  it('every batch has B rows in B/P contiguous blocks of P rows of one class, all classes distinct', () => {
    const counts = new Map<number, number>();
    for (let c = 0; c < 37; c++) counts.set(c * 3 - 20, 4 + (c % 9)); // non-dense ids, uneven sizes
    const labels = makeLabels(counts);
    for (const [b, p] of [
      [16, 4],
      [24, 2],
      [36, 3],
      [148, 4],
    ] as const) {
      const s = new PKSampler(labels, b, p, 7);
      for (let t = 0; t < 300; t++) checkBatch(s.next(), labels, b, p, true);
    }
  });

  it('random configurations never give a short batch or a repeated class', () => {
    const rng = new Rng(2024);
    for (let trial = 0; trial < 40; trial++) {
      const p = 2 + rng.int(5);
      const nClasses = 2 + rng.int(30);
      const counts = new Map<number, number>();
      for (let c = 0; c < nClasses; c++) counts.set(c, p + rng.int(10));
      const labels = makeLabels(counts, trial + 1);
      const m = 1 + rng.int(nClasses);
      const s = new PKSampler(labels, m * p, p, trial);
      for (let t = 0; t < 50; t++) checkBatch(s.next(), labels, m * p, p, true);
    }
  });

  it('is deterministic for a seed, and different seeds give different batches', () => {
    const counts = new Map(Array.from({ length: 50 }, (_, c) => [c, 8] as [number, number]));
    const labels = makeLabels(counts);
    const run = (seed: number): number[] => {
      const s = new PKSampler(labels, 40, 4, seed);
      return Array.from({ length: 30 }, () => Array.from(s.next())).flat();
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('visits every class exactly once per epoch when B/P divides the class count, reshuffling each epoch', () => {
    const counts = new Map(Array.from({ length: 24 }, (_, c) => [c, 6] as [number, number]));
    const labels = makeLabels(counts);
    const s = new PKSampler(labels, 12, 2, 3); // 6 classes per batch, 4 batches per epoch
    expect(s.batchesPerEpoch).toBe(4);
    const epochOrders: string[] = [];
    for (let epoch = 0; epoch < 10; epoch++) {
      const seen: number[] = [];
      for (let t = 0; t < 4; t++) seen.push(...checkBatch(s.next(), labels, 12, 2, true));
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, c) => c));
      epochOrders.push(seen.join(','));
    }
    // Ten epochs of 24 shuffled classes: identical orders would mean no reshuffling.
    expect(new Set(epochOrders).size).toBe(10);
  });

  it('with a remainder, classes within one epoch never repeat', () => {
    const counts = new Map(Array.from({ length: 23 }, (_, c) => [c, 4] as [number, number]));
    const labels = makeLabels(counts);
    const s = new PKSampler(labels, 20, 4, 11); // 5 classes per batch: 4 batches, 3 classes sit out
    expect(s.batchesPerEpoch).toBe(4);
    for (let epoch = 0; epoch < 20; epoch++) {
      const seen: number[] = [];
      for (let t = 0; t < 4; t++) seen.push(...checkBatch(s.next(), labels, 20, 4, true));
      expect(new Set(seen).size).toBe(20);
    }
  });

  it('uses every sample of a class before reusing any, in a shuffled order', () => {
    // 10 classes of 12 samples, P = 4, all classes in each batch: three visits cover a class.
    const counts = new Map(Array.from({ length: 10 }, (_, c) => [c, 12] as [number, number]));
    const labels = makeLabels(counts);
    const s = new PKSampler(labels, 40, 4, 21);
    const rowsOf = (c: number): number[] => Array.from(labels.keys()).filter((i) => labels[i] === c);
    const perClass = new Map<number, number[]>();
    for (let t = 0; t < 3; t++) {
      const batch = s.next();
      for (let blk = 0; blk < 10; blk++) {
        const rows = Array.from(batch.subarray(blk * 4, blk * 4 + 4));
        const c = labels[rows[0]!]!;
        perClass.set(c, [...(perClass.get(c) ?? []), ...rows]);
      }
    }
    let inIndexOrder = 0;
    for (let c = 0; c < 10; c++) {
      const got = perClass.get(c)!;
      expect([...got].sort((a, b) => a - b)).toEqual(rowsOf(c));
      if (got.every((r, k) => k === 0 || got[k - 1]! < r)) inIndexOrder++;
    }
    // A shuffled order of 12 is ascending with probability 1/12!; all ten ascending means no shuffle.
    expect(inIndexOrder).toBeLessThan(10);
  });

  it('with replacement, a class smaller than P fills its block from all its samples', () => {
    const labels = Int32Array.from([0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    const s = new PKSampler(labels, 15, 5, 4, { withReplacement: true });
    for (let t = 0; t < 50; t++) {
      const batch = s.next();
      checkBatch(batch, labels, 15, 5, false);
      for (let blk = 0; blk < 3; blk++) {
        const rows = Array.from(batch.subarray(blk * 5, blk * 5 + 5));
        const c = labels[rows[0]!]!;
        const size = c === 0 ? 3 : c === 1 ? 5 : 6;
        // Every sample of the class appears before any repeats, so a block holds min(P, size) distinct rows.
        expect(new Set(rows).size).toBe(Math.min(5, size));
      }
    }
  });

  describe('errors', () => {
    const labels = makeLabels(new Map(Array.from({ length: 10 }, (_, c) => [c, 4] as [number, number])));

    it('B not divisible by P', () => {
      expectUserError(() => new PKSampler(labels, 30, 4, 0), 'batchSize', '30', 'perClass 4');
    });
    it('B/P more than the number of classes', () => {
      expectUserError(() => new PKSampler(labels, 44, 4, 0), 'batchSize', '44', '11 classes per batch', 'only 10 classes', '<= 40');
      expect(() => new PKSampler(labels, 40, 4, 0)).not.toThrow();
    });
    it('a class with fewer than P samples', () => {
      const small = Int32Array.from([...labels, 10, 10, 10]);
      expectUserError(() => new PKSampler(small, 8, 4, 0), 'perClass', '4', '3 samples of class 10', 'train.withReplacement', 'dataset.params.minPerClass');
      expect(() => new PKSampler(small, 8, 4, 0, { withReplacement: true })).not.toThrow();
    });
    it('a class with a single sample can never give a positive, even with replacement', () => {
      const single = Int32Array.from([...labels, 77]);
      expectUserError(() => new PKSampler(single, 8, 2, 0, { withReplacement: true }), 'class 77', '1 sample', 'never give a positive');
    });
    it('P below 2 or a non-integer batch size', () => {
      expectUserError(() => new PKSampler(labels, 8, 1, 0), 'perClass', '1', '>= 2');
      expectUserError(() => new PKSampler(labels, 8.5, 2, 0), 'batchSize', '8.5');
    });
    it('empty labels', () => {
      expectUserError(() => new PKSampler(new Int32Array(0), 8, 2, 0), 'only 0 classes');
    });
  });
});
