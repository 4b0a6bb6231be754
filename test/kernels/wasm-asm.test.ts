import { describe, expect, it } from 'vitest';
import { Code, I32, instantiate, op, sleb, uleb, validate, wasmApi, wasmModule } from '../../src/kernels/wasm-asm.js';

describe('wasm-asm (the hand-written encoder shared by the loss and metric kernels)', () => {
  it('LEB128 matches the worked examples of the format', () => {
    // 624485 = 0b10011_0001110_1100101 → groups 1100101, 0001110, 0100110 with continuation bits.
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0)).toEqual([0]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(2 ** 32 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(-1)).toEqual([0x7f]);
    // 64 has bit 6 set, so it needs a second byte to stay positive.
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
  });

  it('an exported-memory module runs: f(a, b) stores a·b + 7 at address a and returns it', () => {
    const code = new Code().emit(
      op.localGet(0),
      op.localGet(0),
      op.localGet(1),
      op.i32Mul,
      op.i32Const(7),
      op.i32Add,
      op.localTee(2),
      op.i32Store(0),
      op.localGet(2),
    );
    const bytes = wasmModule([{ name: 'f', params: [I32, I32], results: [I32], locals: [[1, I32]], code }], { kind: 'export', maxPages: 2 });
    expect(validate(bytes)).toBe(true);
    const ex = instantiate(bytes);
    expect((ex.f as (a: number, b: number) => number)(8, -300)).toBe(8 * -300 + 7);
    expect(new Int32Array((ex.mem as { buffer: ArrayBuffer }).buffer)[2]).toBe(8 * -300 + 7);
  });

  it('a shared-import module runs on the memory it is given: g(p) doubles the f64 at p', () => {
    const code = new Code().emit(op.localGet(0), op.localGet(0), op.f64Load(0), op.localGet(0), op.f64Load(0), op.f64Add, op.f64Store(0));
    const bytes = wasmModule([{ name: 'g', params: [I32], results: [], locals: [], code }], { kind: 'shared-import', maxPages: 4 });
    const wa = wasmApi()!;
    const mem = new wa.Memory({ initial: 1, maximum: 4, shared: true });
    const g = new wa.Instance(new wa.Module(bytes), { env: { mem } }).exports.g as (p: number) => void;
    const f = new Float64Array(mem.buffer, 0, 4);
    f[3] = 1.25;
    g(24);
    expect(Array.from(f)).toEqual([0, 0, 0, 2.5]);
  });
});
