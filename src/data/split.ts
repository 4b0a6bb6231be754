import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { groupByClass } from './classes.js';
import type { Split, SplitKind } from './types.js';

export interface TrainTest {
  train: Split;
  test: Split;
}

/** The rows `rows` of `s` (in the given order) as a new split with copied storage. */
export function selectRows(s: Split, rows: ArrayLike<number>): Split {
  const { dim } = s;
  const x = new Float32Array(rows.length * dim);
  const labels = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    x.set(s.x.subarray(r * dim, (r + 1) * dim), k * dim);
    labels[k] = s.labels[r]!;
  }
  const out: Split = { x, n: rows.length, dim, labels };
  if (s.imageShape) out.imageShape = [...s.imageShape];
  return out;
}

/** The rows of `s`, in their original order (a split keeps the data's row order on each side). */
function inRowOrder(s: Split, rows: number[]): Split {
  return selectRows(
    s,
    rows.sort((a, b) => a - b),
  );
}

/**
 * Class-disjoint split as for Stanford Online Products: classes in ascending label order, the
 * first round(C·trainFraction) go to train, the rest to test, so test classes are never seen
 * in training. Labels keep their values.
 */
export function classDisjointSplit(all: Split, trainFraction = 0.5, where = 'split'): TrainTest {
  const { classes, rows } = groupByClass(all.labels);
  const c = classes.length;
  if (c < 2) throw new UserError(`${where}: a class-disjoint split needs at least 2 classes; the data have ${c}`);
  const nTrain = Math.min(c - 1, Math.max(1, Math.round(c * trainFraction)));
  const trainRows: number[] = [];
  const testRows: number[] = [];
  for (let k = 0; k < c; k++) for (const r of rows[k]!) (k < nTrain ? trainRows : testRows).push(r);
  return { train: inRowOrder(all, trainRows), test: inRowOrder(all, testRows) };
}

/**
 * Closed-set split: every class on both sides, disjoint samples. Per class (ascending label
 * order) the rows are shuffled with `seed` and the first round(n·trainFraction) go to train,
 * kept within [1, n−1] so a class of two or more has a sample on each side; a class of one
 * goes to train.
 */
export function closedSetSplit(all: Split, seed: number, trainFraction = 0.5): TrainTest {
  const { rows } = groupByClass(all.labels);
  const rng = new Rng(seed);
  const trainRows: number[] = [];
  const testRows: number[] = [];
  for (const classRows of rows) {
    const n = classRows.length;
    const shuffled = rng.shuffle(Int32Array.from(classRows)) as Int32Array;
    const nTrain = n < 2 ? n : Math.min(n - 1, Math.max(1, Math.round(n * trainFraction)));
    for (let k = 0; k < n; k++) (k < nTrain ? trainRows : testRows).push(shuffled[k]!);
  }
  return { train: inRowOrder(all, trainRows), test: inRowOrder(all, testRows) };
}

export function makeSplit(all: Split, kind: SplitKind, seed: number, trainFraction = 0.5, where = 'split'): TrainTest {
  return kind === 'class-disjoint' ? classDisjointSplit(all, trainFraction, where) : closedSetSplit(all, seed, trainFraction);
}

/** Split codes of explicitSplit (the same values as features-io's SPLIT_*). */
const TRAIN = 1;
const QUERY = 2;
const GALLERY = 3;

/**
 * A split given by the user: a code per row, 1 train, 0 test, 2 query, 3 gallery. Query and
 * gallery rows are test rows too (test = every row not in train, in row order), and are kept as
 * their own splits for the query-gallery protocol; either both or neither must have rows. The
 * kind is what the split actually is: no class on both sides makes it class-disjoint, otherwise
 * closed-set.
 */
export function explicitSplit(all: Split, codes: Uint8Array, where = 'split'): TrainTest & { kind: SplitKind; query?: Split; gallery?: Split } {
  const trainRows: number[] = [];
  const testRows: number[] = [];
  const queryRows: number[] = [];
  const galleryRows: number[] = [];
  for (let i = 0; i < all.n; i++) {
    const c = codes[i];
    (c === TRAIN ? trainRows : testRows).push(i);
    if (c === QUERY) queryRows.push(i);
    else if (c === GALLERY) galleryRows.push(i);
  }
  if (trainRows.length === 0 || testRows.length === 0) {
    throw new UserError(`${where}: the split puts ${trainRows.length} rows in train and ${testRows.length} in test; both need rows`);
  }
  if ((queryRows.length === 0) !== (galleryRows.length === 0)) {
    throw new UserError(
      `${where}: the split marks ${queryRows.length} rows query and ${galleryRows.length} gallery; the query-gallery protocol needs both (or neither)`,
    );
  }
  const train = selectRows(all, trainRows);
  const test = selectRows(all, testRows);
  const trainClasses = new Set(train.labels);
  const shared = test.labels.some((l) => trainClasses.has(l));
  const out: TrainTest & { kind: SplitKind; query?: Split; gallery?: Split } = { train, test, kind: shared ? 'closed-set' : 'class-disjoint' };
  if (queryRows.length) {
    out.query = selectRows(all, queryRows);
    out.gallery = selectRows(all, galleryRows);
  }
  return out;
}
