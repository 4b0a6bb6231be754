import { wasmApi, type WasmMemory } from './wasm-asm.js';

/**
 * The one wasm memory that kernel modules import as env.mem. It is shared, so worker threads
 * (pool.ts) instantiate the same modules on the same memory and work on the same data; it starts
 * at one page and grows on demand up to `maxPages` (65536 pages = 4 GiB, wasm32's limit).
 */
export function sharedMemory(maxPages: number): WasmMemory {
  return new (wasmApi()!.Memory)({ initial: 1, maximum: maxPages, shared: true });
}

/** v rounded up to a multiple of m: padded row lengths, strides and block sizes of the kernels' layouts. */
export function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

/** Grows `mem` so that it holds at least `bytes` bytes; returns its (possibly new) buffer. */
export function ensureBytes(mem: WasmMemory, bytes: number): ArrayBufferLike {
  const have = mem.buffer.byteLength;
  if (bytes > have) mem.grow(Math.ceil((bytes - have) / 65536));
  return mem.buffer;
}

/**
 * Instantiates compiled kernel modules on `mem` (each imports it as env.mem) and returns all
 * their exports by name; export names must differ across the modules. The pool's workers do
 * the same with the same modules, so every thread runs the same code.
 */
export function instantiateKernels(modules: Record<string, object>, mem: object): Record<string, (...args: number[]) => unknown> {
  const wa = wasmApi()!;
  const out: Record<string, (...args: number[]) => unknown> = {};
  for (const module of Object.values(modules)) {
    const ex = new wa.Instance(module, { env: { mem } }).exports;
    for (const [name, fn] of Object.entries(ex)) out[name] = fn as (...args: number[]) => unknown;
  }
  return out;
}
