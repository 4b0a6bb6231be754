import type { ParamSpec, Params } from '../core/params.js';
import type { LoadedDataset, Split, SplitKind } from './types.js';
import { makeSplit, selectRows } from './split.js';

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
  doc: "share of the classes (class-disjoint) or of each class's samples (closed-set) that goes to train",
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

/**
 * Drops classes too small to sample from, per split, instead of failing on them: real data sets
 * (and users' own features) often have a long tail of classes with one image.
 */
export const minPerClassParam: ParamSpec = {
  name: 'minPerClass',
  type: 'integer',
  default: 0,
  min: 0,
  doc: 'drop, in each split, the classes with fewer samples than this (0 keeps all; 2 drops classes that can never give a positive pair)',
};

/** The rows of the classes of `s` with at least `min` samples (the split itself when none is dropped). */
export function dropSmallClasses(s: Split, min: number): Split {
  if (min <= 1) return s;
  const counts = new Map<number, number>();
  for (const l of s.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const keep: number[] = [];
  for (let i = 0; i < s.n; i++) if (counts.get(s.labels[i]!)! >= min) keep.push(i);
  return keep.length === s.n ? s : selectRows(s, keep);
}

/** Splits a pool of rows by the dataset's `split`, `trainFraction` and `seed` parameters. */
export function splitPool(name: string, all: Split, params: Params): LoadedDataset {
  const kind = params['split'] as SplitKind;
  const { train, test } = makeSplit(all, kind, params['seed'] as number, params['trainFraction'] as number, `dataset ${name}`);
  return { name, train, test, splitKind: kind };
}
