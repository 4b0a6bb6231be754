import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';

describe('Rng.fillNormal', () => {
  it('gives exactly the values and the later stream of as many normal() calls, at any start and length', () => {
    // Odd and even lengths and offsets, so the cached second value of a pair crosses calls both ways.
    for (const [skip, lengths] of [
      [0, [1, 2, 3, 8]],
      [1, [5, 1, 1, 4]],
      [3, [0, 7, 2]],
    ] as const) {
      const a = new Rng(11);
      const b = new Rng(11);
      for (let i = 0; i < skip; i++) expect(b.normal()).toBe(a.normal());
      for (const len of lengths) {
        const want = Array.from({ length: len }, () => a.normal());
        const out = new Float64Array(len + 2).fill(-7);
        b.fillNormal(out, 1, 1 + len);
        expect([...out.subarray(1, 1 + len)]).toEqual(want);
        expect([out[0], out[len + 1]]).toEqual([-7, -7]);
      }
      // Same state afterwards: the next normals and the raw stream agree.
      expect([b.normal(), b.normal(), b.nextUint32()]).toEqual([a.normal(), a.normal(), a.nextUint32()]);
    }
  });

  it('skips a uniform draw of exactly 0, as normal() does (log 0 would give an infinite normal)', () => {
    // xoshiro128** outputs 0 exactly when its second state word is 0: force that state in both.
    const forced = (): Rng => {
      const r = new Rng(3);
      (r as unknown as { s1: number }).s1 = 0;
      return r;
    };
    const a = forced();
    const b = forced();
    expect(forced().nextUint32()).toBe(0);
    const out = new Float64Array(4);
    b.fillNormal(out);
    expect([...out]).toEqual([a.normal(), a.normal(), a.normal(), a.normal()]);
    expect(out.every(Number.isFinite)).toBe(true);
  });
});
