import { Code, F64, I32, op, wasmModule } from '../../kernels/wasm-asm.js';

/**
 * FastAP's per-pair histogram step (fast-ap-rows.ts) as a wasm loop over one run of a query's
 * pairs, for the float32 path whose S, labels, slots and tables are in the shared memory: the
 * same float64 operations in the same order as the JS loop (u = (2 − 2s)/Δ, ⌊u⌋, the clamp to
 * slots [0, L + 2], the two histogram additions), without its bounds and type checks.
 *
 * One difference, invisible in the results: a NaN score gives the JS loop slot NaN (its two
 * histogram additions go nowhere and its stored slot becomes 0) and this one slot 0 of its
 * histogram (0 or W): those slots are never read, and slot 0's and W's table entries are both 0.
 */

/** fastApHist(s, sStep, count, classAt, c, W, L, delta, hist, slots), byte addresses; count ≥ 1. */
export type FastApHist = (
  s: number,
  sStep: number,
  count: number,
  classAt: number,
  c: number,
  W: number,
  L: number,
  delta: number,
  hist: number,
  slots: number,
) => void;

export function fastApModule(maxPages: number): Uint8Array {
  const [s, sStep, count, classAt, c, W, L, delta, hist, slots] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [u, l0, frac, k, at] = [10, 11, 12, 13, 14];
  const code = new Code();
  code.emit(op.loop);
  // u = (2 − 2·s)/Δ with s the float32 score widened; l0 = ⌊u⌋; frac = u − l0.
  code.emit(op.f64Const(2), op.f64Const(2), op.localGet(s), op.f32Load(0), op.f64PromoteF32, op.f64Mul, op.f64Sub);
  code.emit(op.localGet(delta), op.f64Div, op.localTee(u), op.f64Floor, op.localTee(l0));
  code.emit(op.localGet(u), op.localGet(l0), op.f64Sub, op.localSet(frac), op.localSet(l0));
  // k = (positive ? W : 0) + (l0 < −2 ? 0 : l0 > L ? L + 2 : l0 + 2)
  code.emit(op.f64Const(0));
  code.emit(op.localGet(L), op.f64Const(2), op.f64Add, op.localGet(l0), op.f64Const(2), op.f64Add, op.localGet(l0), op.localGet(L), op.f64Gt, op.select);
  code.emit(op.localGet(l0), op.f64Const(-2), op.f64Lt, op.select, op.i32TruncSatF64S);
  code.emit(op.localGet(W), op.i32Const(0), op.localGet(classAt), op.i32Load(0), op.localGet(c), op.i32Eq, op.select, op.i32Add, op.localTee(k));
  // hist[k] += 1 − frac; hist[k + 1] += frac; slots[j] = k.
  code.emit(op.i32Const(3), op.i32Shl, op.localGet(hist), op.i32Add, op.localSet(at));
  code.emit(op.localGet(at), op.localGet(at), op.f64Load(0), op.f64Const(1), op.localGet(frac), op.f64Sub, op.f64Add, op.f64Store(0));
  code.emit(op.localGet(at), op.localGet(at), op.f64Load(8), op.localGet(frac), op.f64Add, op.f64Store(8));
  code.emit(op.localGet(slots), op.localGet(k), op.i32Store16(0));
  code.emit(op.localGet(s), op.localGet(sStep), op.i32Add, op.localSet(s));
  code.emit(op.localGet(classAt), op.i32Const(4), op.i32Add, op.localSet(classAt));
  code.emit(op.localGet(slots), op.i32Const(2), op.i32Add, op.localSet(slots));
  code.emit(op.localGet(count), op.i32Const(-1), op.i32Add, op.localTee(count), op.brIf(0), op.end);
  return wasmModule(
    [
      {
        name: 'fastApHist',
        params: [I32, I32, I32, I32, I32, I32, F64, F64, I32, I32],
        results: [],
        locals: [
          [3, F64],
          [2, I32],
        ],
        code,
      },
    ],
    { kind: 'shared-import', maxPages },
  );
}
