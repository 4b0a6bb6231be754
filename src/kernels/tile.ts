import { Code, I32, V128, op, wasmModule } from './wasm-asm.js';
import { F32X4, F64X2, type VecType } from './simd.js';

/**
 * The register-tiled product kernel of the loss matmul (losses/kernels/matmul.ts, which packs
 * the operands with pack.ts and runs it in blocks through the pool, matmul-blocks.ts): for
 * output tiles of MR×NR, the inner loop reads consecutive 16-byte vectors of A and B panels
 * (k-pair-major for float64, k-quad-major for float32) at constant offsets.
 */

/** Rows of A and of B per register tile. */
export const MR = 4;
export const NR = 2;

/** Alignment the vector loads declare (log2 bytes): every panel vector starts on a 16-byte boundary. */
const V128_ALIGN = 4;

const P = ['aPan', 'bPan', 'c', 'ldc', 'ip0', 'ip1', 'jp0', 'jp1', 'aT0', 'aT1', 'bT0', 'aStride', 'bStride', 'acc'] as const;

/**
 * For i-panels ip0..ip1 and j-panels jp0..jp1: C[tile] (=|+=) Σ over the k range of A·Bᵀ.
 * acc = 0 stores (first k block), 1 adds to what is there. Byte offsets and strides throughout;
 * the element type only changes the vector ops, the lane count of the final sums and C's loads.
 */
function tileBody(el: VecType): Code {
  const p = Object.fromEntries(P.map((n, i) => [n, i])) as Record<(typeof P)[number], number>;
  let next = P.length;
  const l: Record<string, number> = {};
  for (const n of ['ip', 'jp', 'pa', 'pb', 'paEnd', 'paBase', 'pc']) l[n] = next++;
  const acc: string[] = [];
  for (let r = 0; r < MR; r++) for (let q = 0; q < NR; q++) acc.push(`c${r}${q}`);
  for (const n of ['y0', 'y1', 'x', ...acc]) l[n] = next++;
  const code = new Code();
  const emit = (...parts: number[][]) => code.emit(...parts);
  const L = (n: string): number => l[n]!;
  const { vMul, vAdd, extract: lane, add, load, store, zero } = el;
  emit(op.localGet(p.ip0), op.localSet(L('ip')), op.block, op.loop);
  emit(op.localGet(L('ip')), op.localGet(p.ip1), op.i32GeU, op.brIf(1));
  emit(op.localGet(p.aPan), op.localGet(L('ip')), op.localGet(p.aStride), op.i32Mul, op.i32Add, op.localSet(L('paBase')));
  emit(op.localGet(p.jp0), op.localSet(L('jp')), op.block, op.loop);
  emit(op.localGet(L('jp')), op.localGet(p.jp1), op.i32GeU, op.brIf(1));
  emit(op.localGet(p.bPan), op.localGet(L('jp')), op.localGet(p.bStride), op.i32Mul, op.i32Add, op.localGet(p.bT0), op.i32Add, op.localSet(L('pb')));
  emit(op.localGet(L('paBase')), op.localGet(p.aT0), op.i32Add, op.localSet(L('pa')));
  emit(op.localGet(L('paBase')), op.localGet(p.aT1), op.i32Add, op.localSet(L('paEnd')));
  for (const c of acc) emit(op.v128Zero, op.localSet(L(c)));
  // Inner loop over k vectors; the driver never passes an empty k range.
  emit(op.loop);
  for (let q = 0; q < NR; q++) emit(op.localGet(L('pb')), op.v128Load(q * 16, V128_ALIGN), op.localSet(L(`y${q}`)));
  for (let r = 0; r < MR; r++) {
    emit(op.localGet(L('pa')), op.v128Load(r * 16, V128_ALIGN), op.localSet(L('x')));
    for (let q = 0; q < NR; q++) {
      const c = L(`c${r}${q}`);
      emit(op.localGet(c), op.localGet(L('x')), op.localGet(L(`y${q}`)), vMul, vAdd, op.localSet(c));
    }
  }
  emit(op.localGet(L('pb')), op.i32Const(NR * 16), op.i32Add, op.localSet(L('pb')));
  emit(op.localGet(L('pa')), op.i32Const(MR * 16), op.i32Add, op.localTee(L('pa')), op.localGet(L('paEnd')), op.i32LtU, op.brIf(0), op.end);
  // pc = c + ip·MR·ldc + jp·NR·bytes; each output = the sum of its lanes (+ old value when acc).
  emit(op.localGet(p.c), op.localGet(L('ip')), op.i32Const(MR), op.i32Mul, op.localGet(p.ldc), op.i32Mul, op.i32Add);
  emit(op.localGet(L('jp')), op.i32Const(NR * el.bytes), op.i32Mul, op.i32Add, op.localSet(L('pc')));
  for (let r = 0; r < MR; r++) {
    if (r > 0) emit(op.localGet(L('pc')), op.localGet(p.ldc), op.i32Add, op.localSet(L('pc')));
    for (let q = 0; q < NR; q++) {
      const c = L(`c${r}${q}`);
      emit(op.localGet(L('pc')), op.localGet(c), lane(0));
      for (let ln = 1; ln < 16 / el.bytes; ln++) emit(op.localGet(c), lane(ln), add);
      emit(op.localGet(L('pc')), load(q * el.bytes), zero, op.localGet(p.acc), op.select, add);
      emit(store(q * el.bytes));
    }
  }
  emit(op.localGet(L('jp')), op.i32Const(1), op.i32Add, op.localSet(L('jp')), op.br(0), op.end, op.end);
  emit(op.localGet(L('ip')), op.i32Const(1), op.i32Add, op.localSet(L('ip')), op.br(0), op.end, op.end);
  return code;
}

/** The kernel module: `tile` (float64) and `tile32` (float32), same parameters, importing the shared memory env.mem. */
export function tileModule(maxPages: number): Uint8Array {
  const nI32 = 7;
  const nV128 = 3 + MR * NR;
  const fn = (name: string, el: VecType) => ({
    name,
    params: P.map(() => I32),
    results: [],
    locals: [
      [nI32, I32],
      [nV128, V128],
    ] as [number, number][],
    code: tileBody(el),
  });
  return wasmModule([fn('tile', F64X2), fn('tile32', F32X4)], { kind: 'shared-import', maxPages });
}
