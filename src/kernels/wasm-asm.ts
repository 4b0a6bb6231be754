/**
 * Just enough of the WebAssembly binary format to assemble small SIMD kernels by hand, with
 * their constants baked in: the loss matmul's tile (tile.ts, pack.ts) and the evaluation's
 * similarity and histogram kernels (similarity-rows.ts) need float64/float32 products several
 * times faster than plain JS loops, and writing the bytes here avoids a toolchain or a dependency.
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function f64Bytes(v: number): number[] {
  return [...new Uint8Array(new Float64Array([v]).buffer)];
}

function f32Bytes(v: number): number[] {
  return [...new Uint8Array(new Float32Array([v]).buffer)];
}

export const I32 = 0x7f;
export const F64 = 0x7c;
export const F32 = 0x7d;
export const V128 = 0x7b;

const simd = (code: number, ...rest: number[]) => [0xfd, ...uleb(code), ...rest];

export const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v | 0)],
  f64Const: (v: number) => [0x44, ...f64Bytes(v)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  i32Ne: [0x47],
  i32GeS: [0x4e],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  f64Add: [0xa0],
  f64Lt: [0x63],
  f64Gt: [0x64],
  select: [0x1b],
  i32TruncSatF64S: [0xfc, 0x02],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  i32Load: (offset: number) => [0x28, 2, ...uleb(offset)],
  i32Store: (offset: number) => [0x36, 2, ...uleb(offset)],
  f64Load: (offset: number) => [0x2b, 3, ...uleb(offset)],
  f64Store: (offset: number) => [0x39, 3, ...uleb(offset)],
  /** alignLog2 is only a promise to the engine (log2 of the byte alignment, at most 4): any address loads correctly. */
  v128Load: (offset: number, alignLog2: number) => simd(0x00, alignLog2, ...uleb(offset)),
  /** Same alignment promise as v128Load. */
  v128Store: (offset: number, alignLog2: number) => simd(0x0b, alignLog2, ...uleb(offset)),
  /** Bytes 0..15 pick from the first operand, 16..31 from the second. */
  i8x16Shuffle: (lanes: number[]) => simd(0x0d, ...lanes),
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  f64x2ExtractLane: (lane: number) => simd(0x21, lane),
  f64x2Add: simd(0xf0),
  f64x2Mul: simd(0xf2),
  f32Load: (offset: number) => [0x2a, 2, ...uleb(offset)],
  f32Store: (offset: number) => [0x38, 2, ...uleb(offset)],
  f32Const: (v: number) => [0x43, ...f32Bytes(v)],
  f32Add: [0x92],
  f64PromoteF32: [0xbb],
  f32x4ExtractLane: (lane: number) => simd(0x1f, lane),
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  f64x2Splat: simd(0x14),
  f64x2Sub: simd(0xf1),
  f64x2Floor: simd(0x75),
  /** pmin(a, b) = b < a ? b : a; pmax(a, b) = a < b ? b : a (lane-wise). */
  f64x2Pmin: simd(0xf6),
  f64x2Pmax: simd(0xf7),
  f64x2PromoteLowF32x4: simd(0x5f),
  /** Two f64 lanes rounded (to nearest, as a Float32Array store) into the low f32 lanes; the high two are 0. */
  f32x4DemoteF64x2Zero: simd(0x5e),
  i32x4TruncSatF64x2SZero: simd(0xfc),
  i32x4ExtractLane: (lane: number) => simd(0x1b, lane),
  /** Relaxed SIMD: a·b + c, fused or not as the engine chooses (both round at most as much as mul then add). */
  f32x4RelaxedMadd: simd(0x105),
  i32And: [0x71],
  i32Load16U: (offset: number) => [0x2f, 1, ...uleb(offset)],
  i32Store16: (offset: number) => [0x3b, 1, ...uleb(offset)],
  i32Eq: [0x46],
  f64Div: [0xa3],
  f64Floor: [0x9c],
  f32DemoteF64: [0xb6],
  f64Ne: [0x62],
  i32ShrU: [0x76],
  f32x4Splat: simd(0x13),
  f32x4Sub: simd(0xe5),
  f32x4Floor: simd(0x68),
  f32x4Pmin: simd(0xea),
  f32x4Pmax: simd(0xeb),
  i32x4TruncSatF32x4S: simd(0xf8),
  f32x4Gt: simd(0x44),
  i32x4Bitmask: simd(0xa4),
  i32Popcnt: [0x69],
  i32Xor: [0x73],
  i32Sub: [0x6b],
  i32x4Shl: simd(0xab),
};

/** The words of a space-separated string, as a union of string literals. */
type Words<S extends string> = S extends `${infer A} ${infer B}` ? A | Words<B> : S;

/** Numbers a function's parameters and locals in the order they are taken, by name. */
export class LocalSlots {
  count = 0;
  /** `names`: space-separated, numbered in order from the next free index. */
  take<S extends string>(names: S): Record<Words<S>, number> {
    const out = {} as Record<string, number>;
    for (const name of names.split(' ')) out[name] = this.count++;
    return out as Record<Words<S>, number>;
  }
}

/** Appends instructions (arrays of bytes) to a code buffer. */
export class Code {
  readonly bytes: number[] = [];
  emit(...parts: (number | number[])[]): this {
    for (const p of parts) {
      if (Array.isArray(p)) for (const b of p) this.bytes.push(b);
      else this.bytes.push(p);
    }
    return this;
  }
}

export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  /** Local declarations after the params: [count, type] runs. */
  locals: [number, number][];
  /** The body, without the final end. */
  code: Code;
}

/** Where a module's one memory comes from; it starts at one page and may grow to maxPages. */
export type ModuleMemory =
  /** Imported as env.mem and shared, so worker threads can run the same code on the same data. */
  | { kind: 'shared-import'; maxPages: number }
  /** Defined by the module and exported as "mem". */
  | { kind: 'export'; maxPages: number };

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  const out = uleb(items.length);
  for (const it of items) for (const b of it) out.push(b);
  return out;
}

function str(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}

/** A module with the given memory and exported functions (function i has type i). */
export function wasmModule(funcs: WasmFunction[], memory: ModuleMemory): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const bodies = funcs.map((f) => {
    const body = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.code.bytes, ...op.end];
    return [...uleb(body.length), ...body];
  });
  const exports = funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]);
  const shared = memory.kind === 'shared-import';
  // Limits flag 0x03: shared, with a maximum (shared memories must declare one); 0x01: a maximum.
  const limits = [shared ? 0x03 : 0x01, ...uleb(1), ...uleb(memory.maxPages)];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...(shared ? section(2, vec([[...str('env'), ...str('mem'), 0x02, ...limits]])) : []),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...(shared ? [] : section(5, vec([limits]))),
    ...section(7, vec(shared ? exports : [...exports, [...str('mem'), 0x02, 0]])),
    ...section(10, vec(bodies)),
  ];
  return Uint8Array.from(bytes);
}

/** The few WebAssembly APIs used here (lib.dom, which declares them, is not in this project's libs). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

/** The engine's WebAssembly, or undefined on a runtime without it. */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

/** Exports of a module that imports nothing; throws without WebAssembly. */
export function instantiate(bytes: Uint8Array): Record<string, unknown> {
  const wa = wasmApi()!;
  return new wa.Instance(new wa.Module(bytes), {}).exports;
}

/** Whether the engine accepts these bytes (false without WebAssembly). */
export function validate(bytes: Uint8Array): boolean {
  return wasmApi()?.validate(bytes) ?? false;
}
