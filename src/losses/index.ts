import { LossRegistry } from './registry.js';
import type { LossPlugin } from './types.js';

/** The built-in losses: one line each. */
export const builtinLosses: LossPlugin[] = [];

export function createLossRegistry(): LossRegistry {
  return new LossRegistry(builtinLosses);
}
