/**
 * Just enough of the WebAssembly binary format to assemble one SIMD function by hand: the loss
 * kernels need float64 matrix products several times faster than plain JS loops, and writing the
 * bytes here avoids a toolchain or a dependency.
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

export const I32 = 0x7f;
export const V128 = 0x7b;

export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v | 0)],
  add: [0x6a],
  mul: [0x6c],
  ltU: [0x49],
  geU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  select: [0x1b],
  f64Const0: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  f64Add: [0xa0],
  f64Load: (offset: number) => [0x2b, 3, ...uleb(offset)],
  f64Store: (offset: number) => [0x39, 3, ...uleb(offset)],
  v128Load: (offset: number) => [0xfd, 0x00, 4, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f64x2Lane: (lane: number) => [0xfd, 0x21, lane],
  f64x2Add: [0xfd, ...uleb(0xf0)],
  f64x2Mul: [0xfd, ...uleb(0xf2)],
};

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  return vec([...Buffer.from(text, 'utf8')].map((b) => [b]));
}

/**
 * A module importing a shared memory env.mem (so worker threads can run the same code on the
 * same data) and exporting one function `fnName` taking `nParams` i32 parameters and returning
 * nothing, with the given extra locals and body (without the final end).
 */
export function assembleModule(fnName: string, nParams: number, locals: { i32: number; v128: number }, body: number[], maxPages: number): Uint8Array {
  const code = [...uleb(2), ...uleb(locals.i32), I32, ...uleb(locals.v128), V128, ...body, ...op.end];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(new Array(nParams).fill([I32])), 0]])),
    // limits flag 0x03: shared, with a maximum (shared memories must declare one).
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, ...uleb(1), ...uleb(maxPages)]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name(fnName), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ];
  return new Uint8Array(bytes);
}
