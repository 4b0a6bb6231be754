import { LossRegistry } from './registry.js';
import type { LossPlugin } from './types.js';
import smoothAp from './smooth-ap.js';
import triplet from './triplet.js';
import fastAp from './fast-ap.js';
import blackboxAp from './blackbox-ap.js';

/** The built-in losses: one line each. */
export const builtinLosses: LossPlugin[] = [smoothAp, triplet, fastAp, blackboxAp];

export function createLossRegistry(): LossRegistry {
  return new LossRegistry(builtinLosses);
}
