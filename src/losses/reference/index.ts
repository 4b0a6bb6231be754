import type { LossPlugin } from '../types.js';
import { smoothApTensor } from './smooth-ap-tensor.js';
import { tripletTensor } from './triplet-tensor.js';
import { fastApTensor } from './fast-ap-tensor.js';
import { blackboxApTensor } from './blackbox-ap-tensor.js';

/**
 * The tensor formulations of the built-in losses, by loss name: test oracles and the slow
 * baseline `bench perf` compares the fused kernels with (they take the same arguments as compute).
 */
export const referenceComputes: Record<string, LossPlugin['compute']> = {
  'smooth-ap': smoothApTensor,
  triplet: tripletTensor,
  'fast-ap': fastApTensor,
  'blackbox-ap': blackboxApTensor,
};
