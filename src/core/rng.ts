/**
 * Seeded pseudo-random generator (xoshiro128**, seeded through splitmix32) so that every
 * sampler, initialiser and perturbation is reproducible from the run's seed on any machine.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Writes the next `to − from` standard normals into out[from..to): exactly the values, and the
   * generator state afterwards, of that many normal() calls. For loops that draw a normal per
   * score (Blackbox-AP's margin, B² a batch): the state stays in int32 locals instead of being
   * read and written through the object per draw, which measured about twice as fast.
   */
  fillNormal(out: Float64Array, from = 0, to = out.length): void {
    let i = from;
    if (i < to && this.spare !== null) {
      out[i++] = this.spare;
      this.spare = null;
    }
    if (i >= to) return;
    // The same xoshiro128** steps as nextUint32, on int32 values (the same bits: every step is
    // bitwise or Math.imul; only the output is read unsigned).
    let s0 = this.s0 | 0;
    let s1 = this.s1 | 0;
    let s2 = this.s2 | 0;
    let s3 = this.s3 | 0;
    while (i < to) {
      // u: uniforms until one is non-zero; then v: the next one.
      let u = 0;
      let v = -1;
      while (v < 0) {
        const m = Math.imul(s1, 5);
        const x = (Math.imul((m << 7) | (m >>> 25), 9) >>> 0) / 4294967296;
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        if (u !== 0) v = x;
        else u = x;
      }
      const r = Math.sqrt(-2 * Math.log(u));
      out[i++] = r * Math.cos(2 * Math.PI * v);
      const second = r * Math.sin(2 * Math.PI * v);
      if (i < to) out[i++] = second;
      else this.spare = second;
    }
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(a: T[] | Int32Array): typeof a {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** An independent generator derived from this one (for a sub-task that must not shift this stream). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
