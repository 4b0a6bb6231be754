import { describe, expect, it } from 'vitest';
import { viewsPerJob } from '../../src/kernels/views.js';

describe('viewsPerJob', () => {
  it('makes the views once per job: again only when the buffer or a parameter changes', () => {
    let made = 0;
    const views = viewsPerJob((memory, p) => {
      made++;
      return new Float64Array(memory, p[0]!, p[1]!);
    });
    const a = new SharedArrayBuffer(64);
    const b = new SharedArrayBuffer(64);
    const p = Int32Array.from([8, 2, 0, 0]);
    const first = views(a, p);
    expect(views(a, p)).toBe(first);
    expect(made).toBe(1);
    p[1] = 3;
    const longer = views(a, p);
    expect(longer.length).toBe(3);
    expect(made).toBe(2);
    expect(views(b, p).buffer).toBe(b);
    expect(made).toBe(3);
    p[3] = 1; // a parameter the views do not use still counts: another job
    views(b, p);
    expect(made).toBe(4);
  });
});
