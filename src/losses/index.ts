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

/** The built-ins plus the losses of each plugin file (`--plugin`), in the order given. */
export async function loadLossRegistry(pluginFiles: readonly string[] = []): Promise<LossRegistry> {
  const registry = createLossRegistry();
  for (const file of pluginFiles) await registry.loadFile(file);
  return registry;
}
