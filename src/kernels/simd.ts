import { op } from './wasm-asm.js';

/**
 * The two SIMD element types the kernels come in, as the instructions that differ between
 * them, so one generator emits either: float64 (f64x2: 2 lanes per 16-byte vector, exact enough
 * for parity and exact scores) and float32 (f32x4: 4 lanes, twice the multiply-adds per
 * instruction and half the bytes moved).
 */
export interface VecType {
  /** Bytes per element. */
  bytes: number;
  /** Elements per v128. */
  lanes: number;
  vAdd: number[];
  vMul: number[];
  /** Extracts one lane as a scalar. */
  extract: (lane: number) => number[];
  /** Scalar add, load, store and zero constant of the element type. */
  add: number[];
  load: (offset: number) => number[];
  store: (offset: number) => number[];
  zero: number[];
  /** After `load`, converts the value to f64 (nothing for f64). */
  toF64: number[];
}

export const F64X2: VecType = {
  bytes: 8,
  lanes: 2,
  vAdd: op.f64x2Add,
  vMul: op.f64x2Mul,
  extract: op.f64x2ExtractLane,
  add: op.f64Add,
  load: op.f64Load,
  store: op.f64Store,
  zero: op.f64Const(0),
  toF64: [],
};

export const F32X4: VecType = {
  bytes: 4,
  lanes: 4,
  vAdd: op.f32x4Add,
  vMul: op.f32x4Mul,
  extract: op.f32x4ExtractLane,
  add: op.f32Add,
  load: op.f32Load,
  store: op.f32Store,
  zero: op.f32Const(0),
  toF64: op.f64PromoteF32,
};
