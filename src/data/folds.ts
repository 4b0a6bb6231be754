import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { groupByClass } from './classes.js';
import { selectRows } from './split.js';
import type { LoadedDataset, Split } from './types.js';

/** Which class-disjoint validation fold of the train classes a cell trains and evaluates on. */
export interface FoldSpec {
  /** Number of folds the train classes are dealt into. */
  folds: number;
  /** This cell's fold (0-based): evaluated on its classes, trained on the other folds' classes. */
  fold: number;
  /** Seed of the dealing, fixed across trials so that every trial sees the same folds. */
  seed: number;
}

/**
 * Deals the classes of `labels` into `k` class-disjoint folds that together cover them. Classes
 * are grouped by super-class when `superClassOf` is given (label → super-class), shuffled within
 * each group with `seed`, and dealt round-robin with the rotation carried from one group to the
 * next: every fold gets a near-equal share of every super-class (so no fold is all of one kind
 * of hard negative) and fold sizes differ by at most one class. Returns the labels of each fold,
 * ascending.
 */
export function classFolds(labels: Int32Array, k: number, seed: number, superClassOf?: ArrayLike<number>, where = 'folds'): number[][] {
  const { classes } = groupByClass(labels);
  if (!Number.isInteger(k) || k < 2) throw new UserError(`${where}: ${k} is not allowed; expected an integer >= 2`);
  if (classes.length < k) throw new UserError(`${where}: ${k} folds need at least ${k} train classes; the train split has ${classes.length}`);
  const groups = new Map<number, number[]>();
  for (const c of classes) {
    const g = superClassOf ? (superClassOf[c] ?? -1) : 0;
    groups.set(g, [...(groups.get(g) ?? []), c]);
  }
  const rng = new Rng(seed);
  const out: number[][] = Array.from({ length: k }, () => []);
  let next = 0;
  for (const g of [...groups.keys()].sort((a, b) => a - b)) {
    const members = rng.shuffle([...groups.get(g)!]) as number[];
    for (const c of members) {
      out[next]!.push(c);
      next = (next + 1) % k;
    }
  }
  return out.map((f) => f.sort((a, b) => a - b));
}

const views = new WeakMap<LoadedDataset, Map<string, LoadedDataset>>();

/**
 * The dataset a validation cell sees: train = the train rows of every other fold's classes,
 * test = the rows of this fold's classes. Built from `data.train` alone: the held-out test
 * split is not read (and not reachable from the result), so nothing tuned on it can depend on
 * the test classes.
 */
export function foldView(data: LoadedDataset, spec: FoldSpec): LoadedDataset {
  const key = `${spec.folds}/${spec.fold}/${spec.seed}`;
  const cached = views.get(data)?.get(key);
  if (cached) return cached;
  if (!Number.isInteger(spec.fold) || spec.fold < 0 || spec.fold >= spec.folds) {
    throw new UserError(`validation fold ${spec.fold} is not allowed; expected 0 <= fold < ${spec.folds}`);
  }
  const train: Split = data.train;
  const folds = classFolds(train.labels, spec.folds, spec.seed, data.superClassOf, `dataset ${data.name} validation folds`);
  const held = new Set(folds[spec.fold]);
  const fitRows: number[] = [];
  const valRows: number[] = [];
  for (let i = 0; i < train.n; i++) (held.has(train.labels[i]!) ? valRows : fitRows).push(i);
  const view: LoadedDataset = {
    name: data.name,
    train: selectRows(train, fitRows),
    test: selectRows(train, valRows),
    splitKind: 'class-disjoint',
    ...(data.classNames ? { classNames: data.classNames } : {}),
    ...(data.superClassOf ? { superClassOf: data.superClassOf } : {}),
  };
  const m = views.get(data) ?? new Map<string, LoadedDataset>();
  m.set(key, view);
  views.set(data, m);
  return view;
}
