import { loadLossRegistry } from '../losses/index.js';
import { loadExperiment as loadResolved, type LoadedExperiment } from '../experiments/load.js';
import type { ExperimentOverrides } from '../experiments/types.js';

export interface LoadExperimentOptions extends ExperimentOverrides {
  /** Loss plugin files (ESM), as `--plugin`: the experiment may name their losses. */
  plugins?: string[];
}

/**
 * Reads, validates and expands an experiment file (a path, or a name in experiments/) into its
 * cells, as `bench run` does before running anything; nothing is trained. A bad value throws a
 * UserError naming the file, the key path, the value and what is allowed.
 */
export async function loadExperiment(fileOrName: string, options: LoadExperimentOptions = {}): Promise<LoadedExperiment> {
  const { plugins = [], ...overrides } = options;
  return loadResolved(fileOrName, { ...overrides, registry: await loadLossRegistry(plugins) });
}
