import type { ParamSpec, Params } from '../core/params.js';
import type { LoadedDataset, Split, SplitKind } from './types.js';
import { makeSplit } from './split.js';

/** The `split` parameter every dataset declares, each with its own default. */
export function splitParam(defaultKind: SplitKind): ParamSpec {
  return {
    name: 'split',
    type: 'enum',
    values: ['class-disjoint', 'closed-set'],
    default: defaultKind,
    doc: 'class-disjoint: first part of the classes (ascending label order) train, the rest test; closed-set: same classes, disjoint samples',
  };
}

export const trainFractionParam: ParamSpec = {
  name: 'trainFraction',
  type: 'number',
  default: 0.5,
  min: 0,
  max: 1,
  minExclusive: true,
  doc: 'share of the classes (class-disjoint) or of each class\'s samples (closed-set) that goes to train',
};

/**
 * The data seed, separate from the training seed on purpose: with its default the data and
 * split stay fixed across training seeds, so spread over seeds measures training alone.
 */
export const dataSeedParam: ParamSpec = {
  name: 'seed',
  type: 'integer',
  default: 0,
  min: 0,
  doc: 'seed of the data generation, subsetting and closed-set split (not the training seed)',
};

/** Splits a pool of rows by the dataset's `split`, `trainFraction` and `seed` parameters. */
export function splitPool(name: string, all: Split, params: Params): LoadedDataset {
  const kind = params['split'] as SplitKind;
  const { train, test } = makeSplit(all, kind, params['seed'] as number, params['trainFraction'] as number, `dataset ${name}`);
  return { name, train, test, splitKind: kind };
}
