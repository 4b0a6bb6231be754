import { loadLossRegistry } from '../losses/index.js';
import type { LossRegistry } from '../losses/registry.js';

/** Options every command accepts (declared globally in main.ts). */
export interface GlobalArgs {
  backend?: string;
  plugin?: string[];
}

/** The loss registry with the built-ins plus every `--plugin` file. */
export function lossRegistry(args: GlobalArgs): Promise<LossRegistry> {
  return loadLossRegistry(args.plugin);
}

/** A repeatable string flag as a list (yargs gives a string when it was given once). */
export const asList = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
