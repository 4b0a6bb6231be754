import { UserError, show } from '../core/errors.js';
import { resolveParams, type Params } from '../core/params.js';
import { dropSmallClasses } from './common.js';
import { fashionMnist } from './fashion-mnist.js';
import { features } from './features.js';
import { mnist } from './mnist.js';
import { synthetic } from './synthetic.js';
import type { DatasetLoadOptions, DatasetPlugin, LoadedDataset } from './types.js';

/** The built-in datasets: one line each. */
export const builtinDatasets: DatasetPlugin[] = [synthetic, mnist, fashionMnist, features];

export function datasetNames(): string[] {
  return builtinDatasets.map((d) => d.name);
}

export function getDataset(name: string): DatasetPlugin {
  const found = builtinDatasets.find((d) => d.name === name);
  if (!found) throw new UserError(`dataset: ${show(name)} is not a known dataset; available: ${datasetNames().join(', ')}`);
  return found;
}

/** Loads a dataset from resolved parameters, then applies the options every dataset shares. */
export async function loadResolvedDataset(name: string, params: Params, opts: DatasetLoadOptions): Promise<LoadedDataset> {
  const data = await getDataset(name).load(params, opts);
  const min = typeof params['minPerClass'] === 'number' ? params['minPerClass'] : 0;
  return min > 1 ? { ...data, train: dropSmallClasses(data.train, min), test: dropSmallClasses(data.test, min) } : data;
}

/** Looks a dataset up, validates the user's parameters against its specs and loads it. */
export async function loadDataset(name: string, given: Record<string, unknown> | undefined, opts: DatasetLoadOptions): Promise<LoadedDataset> {
  const plugin = getDataset(name);
  return loadResolvedDataset(name, resolveParams(plugin.params, given, `dataset ${name}`), opts);
}
