import { createLossRegistry } from '../losses/index.js';
import type { LossRegistry } from '../losses/registry.js';

/** Options every command accepts (declared globally in main.ts). */
export interface GlobalArgs {
  backend?: string;
  plugin?: string[];
}

/** The loss registry with the built-ins plus every `--plugin` file. */
export async function lossRegistry(args: GlobalArgs): Promise<LossRegistry> {
  const reg = createLossRegistry();
  for (const file of args.plugin ?? []) await reg.loadFile(file);
  return reg;
}

/** A repeatable string flag as a list (yargs gives a string when it was given once). */
export const asList = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
