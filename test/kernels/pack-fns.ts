import { packModule, type PackFns } from '../../src/kernels/pack.js';

/** The packing kernels instantiated on a fresh shared memory (64 pages at most), and views of it. */
export function sharedPackFns(): { fns: PackFns; f32: Float32Array; f64: Float64Array } {
  const wa = (
    globalThis as unknown as {
      WebAssembly: {
        Memory: new (d: object) => { buffer: ArrayBuffer };
        Instance: new (m: object, i: object) => { exports: unknown };
        Module: new (b: Uint8Array) => object;
      };
    }
  ).WebAssembly;
  const mem = new wa.Memory({ initial: 4, maximum: 64, shared: true });
  const fns = new wa.Instance(new wa.Module(packModule(64)), { env: { mem } }).exports as PackFns;
  return { fns, f32: new Float32Array(mem.buffer), f64: new Float64Array(mem.buffer) };
}
