import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/core/params.js';
import { PKSampler } from '../../src/data/sampler.js';
import { generateSynthetic, synthetic } from '../../src/data/synthetic.js';
import type { Split } from '../../src/data/types.js';

const params = (given: Record<string, unknown> = {}) => resolveParams(synthetic.params, given, 'dataset synthetic');

/** Brute-force precision@1 with cosine similarity, query excluded. */
function precisionAt1(s: Split): number {
  const { x, n, dim: d, labels } = s;
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < d; k++) acc += x[i * d + k]! ** 2;
    norm[i] = Math.sqrt(acc);
  }
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let arg = -1;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let dot = 0;
      for (let k = 0; k < d; k++) dot += x[i * d + k]! * x[j * d + k]!;
      const cos = dot / (norm[i]! * norm[j]!);
      if (cos > best) [best, arg] = [cos, j];
    }
    if (labels[arg] === labels[i]) hits++;
  }
  return hits / n;
}

describe('synthetic dataset', () => {
  it('has the requested shape, finite values in (-1, 1) and perClass rows per class', () => {
    const all = generateSynthetic(params({ classes: 30, perClass: 5, dim: 12 }));
    expect([all.n, all.dim, all.x.length, all.labels.length]).toEqual([150, 12, 1800, 150]);
    expect(all.x.every((v) => Number.isFinite(v) && v > -1 && v < 1)).toBe(true);
    const counts = new Map<number, number>();
    for (const l of all.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, c) => c));
    expect([...counts.values()].every((k) => k === 5)).toBe(true);
  });

  it('is deterministic for its data seed and independent of the training seed', async () => {
    const a = await synthetic.load(params({ classes: 40 }), { seed: 1 });
    const b = await synthetic.load(params({ classes: 40 }), { seed: 999 });
    expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(b.train.x.buffer))).toBe(true);
    expect(Buffer.from(a.test.x.buffer).equals(Buffer.from(b.test.x.buffer))).toBe(true);
    const c = await synthetic.load(params({ classes: 40, seed: 1 }), { seed: 1 });
    expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(c.train.x.buffer))).toBe(false);
  });

  it('defaults: class-disjoint halves that fit B=224 and B=1024 at P=4 on both sides', async () => {
    const ds = await synthetic.load(params(), { seed: 0 });
    expect(ds.splitKind).toBe('class-disjoint');
    expect(ds.train.dim).toBe(64);
    for (const side of [ds.train, ds.test]) {
      expect(new Set(side.labels).size).toBeGreaterThanOrEqual(256);
      for (const b of [224, 1024]) {
        const s = new PKSampler(side.labels, b, 4, 0);
        expect(new Set(s.next()).size).toBe(b);
      }
    }
    const trainClasses = new Set(ds.train.labels);
    expect(ds.test.labels.some((l) => trainClasses.has(l))).toBe(false);
  });

  it('groups classes in super-classes: centres of the same super-class are closer (hard negatives)', () => {
    const superClasses = 4;
    const all = generateSynthetic(params({ classes: 40, perClass: 20, dim: 32, superClasses, noise: 0.5 }));
    const d = all.dim;
    const means = Array.from({ length: 40 }, () => new Float64Array(d));
    for (let i = 0; i < all.n; i++) for (let k = 0; k < d; k++) means[all.labels[i]!]![k]! += all.x[i * d + k]! / 20;
    const cos = (a: Float64Array, b: Float64Array) => {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let k = 0; k < d; k++) [ab, aa, bb] = [ab + a[k]! * b[k]!, aa + a[k]! ** 2, bb + b[k]! ** 2];
      return ab / Math.sqrt(aa * bb);
    };
    // Class c belongs to super-class c mod superClasses (documented in the generator).
    const same: number[] = [];
    const other: number[] = [];
    for (let a = 0; a < 40; a++) {
      for (let b = a + 1; b < 40; b++) (a % superClasses === b % superClasses ? same : other).push(cos(means[a]!, means[b]!));
    }
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    expect(mean(same)).toBeGreaterThan(mean(other) + 0.2);
  });

  it('noise makes raw-feature retrieval harder', () => {
    const p1 = (noise: number) => precisionAt1(generateSynthetic(params({ classes: 60, perClass: 5, dim: 32, noise })));
    const clean = p1(0);
    const noisy = p1(3);
    expect(clean).toBeGreaterThan(0.7);
    expect(noisy).toBeLessThan(clean - 0.3);
  });

  it('closed-set puts every class on both sides', async () => {
    const ds = await synthetic.load(params({ classes: 20, perClass: 6, split: 'closed-set' }), { seed: 0 });
    expect(ds.splitKind).toBe('closed-set');
    expect(new Set(ds.train.labels).size).toBe(20);
    expect(new Set(ds.test.labels).size).toBe(20);
    expect(ds.train.n + ds.test.n).toBe(120);
  });
});
