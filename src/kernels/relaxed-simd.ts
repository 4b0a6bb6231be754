import v8 from 'node:v8';
import { Code, V128, op, validate, wasmModule } from './wasm-asm.js';

/**
 * Relaxed SIMD (fused multiply-add) for kernels whose results tolerate either rounding: the
 * evaluation's float32 similarity scores are approximate by design (every score within its
 * error bound of a positive is rescored in float64), and a fused a·b + c rounds once where
 * mul-then-add rounds twice, so the bound holds either way. It doubles the multiply-adds per
 * instruction on CPUs with FMA.
 *
 * Node 20's V8 implements it behind --experimental-wasm-relaxed-simd (on by default from Node
 * 22). V8 reads wasm feature flags when it validates or compiles a module, so setting the flag
 * at run time, before the first such module is compiled, enables it for this process and its
 * worker threads. RANKBENCH_RELAXED_SIMD=0 keeps it off (plain mul + add, bit-identical to the
 * kernels without it). Kernels whose results must not depend on the machine (training, the
 * float64 parity path) never use it: fused or not is the engine's choice per CPU.
 */

let available: boolean | undefined;

/** A module using f32x4.relaxed_madd, for probing. */
function probe(): Uint8Array {
  const code = new Code().emit(op.localGet(0), op.localGet(0), op.localGet(0), op.f32x4RelaxedMadd);
  return wasmModule([{ name: 'f', params: [V128], results: [V128], locals: [], code }], { kind: 'export', maxPages: 1 });
}

/** Whether relaxed SIMD may be used here, turning V8's flag on the first time when needed. */
export function relaxedSimdAvailable(): boolean {
  if (available !== undefined) return available;
  available = false;
  if (process.env.RANKBENCH_RELAXED_SIMD === '0') return available;
  const bytes = probe();
  if (validate(bytes)) return (available = true);
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return available;
  }
  return (available = validate(bytes));
}
