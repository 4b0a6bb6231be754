import { UserError, show } from '../../core/errors.js';

/** A batch's labels grouped by class, so kernels can walk a query's positives without scanning. */
export interface LabelGroups {
  /** Compact class id per item, numbered in order of first appearance. */
  classOf: Int32Array;
  /** Items grouped by class: class c's members are members[start[c] .. start[c+1]). */
  members: Int32Array;
  start: Int32Array;
  numClasses: number;
  /** The largest class size in the batch. */
  maxClassSize: number;
}

/** Checks the shapes a kernel is given; these reach users through plugins and `bench loss`. */
export function checkBatch(loss: string, x: Float64Array, n: number, d: number, labels: Int32Array): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(d) || d < 1) {
    throw new UserError(`loss ${loss}: the batch is ${show(n)}×${show(d)}; it needs at least one row and one column`);
  }
  if (x.length !== n * d) throw new UserError(`loss ${loss}: embeddings hold ${x.length} values, expected ${n}×${d} = ${n * d}`);
  if (labels.length !== n) throw new UserError(`loss ${loss}: ${labels.length} labels for ${n} embeddings; expected one label per row`);
}

export function groupLabels(labels: Int32Array): LabelGroups {
  const n = labels.length;
  const ids = new Map<number, number>();
  const classOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let c = ids.get(labels[i]!);
    if (c === undefined) {
      c = ids.size;
      ids.set(labels[i]!, c);
    }
    classOf[i] = c;
  }
  const numClasses = ids.size;
  const start = new Int32Array(numClasses + 1);
  for (let i = 0; i < n; i++) start[classOf[i]! + 1] = start[classOf[i]! + 1]! + 1;
  let maxClassSize = 0;
  for (let c = 0; c < numClasses; c++) {
    maxClassSize = Math.max(maxClassSize, start[c + 1]!);
    start[c + 1] = start[c + 1]! + start[c]!;
  }
  const fill = start.slice(0, numClasses);
  const members = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = classOf[i]!;
    members[fill[c]!] = i;
    fill[c] = fill[c]! + 1;
  }
  return { classOf, members, start, numClasses, maxClassSize };
}

/** Number of items in i's class other than i. */
export function positivesOf(g: LabelGroups, i: number): number {
  const c = g.classOf[i]!;
  return g.start[c + 1]! - g.start[c]! - 1;
}

/**
 * The loud failure for a batch where no query has another item of its class: returning 0 here
 * would silently train on nothing (a recurring complaint about existing tools).
 */
export function noPositivesError(loss: string, n: number): UserError {
  return new UserError(
    `loss ${loss}: no query in the batch of ${n} has another item of its class, so there is nothing to rank; ` +
      'every batch needs at least one class with 2 or more items (use a P×K sampler with P >= 2)',
  );
}

/**
 * The common start of the AP losses: checks the batch, groups its labels and counts the queries
 * Q that have a positive (the 1/Q of the mean over queries), failing loudly when there are none.
 */
export function apBatch(loss: string, x: Float64Array, n: number, d: number, labels: Int32Array): { groups: LabelGroups; queries: number } {
  checkBatch(loss, x, n, d, labels);
  const groups = groupLabels(labels);
  let queries = 0;
  for (let q = 0; q < n; q++) if (positivesOf(groups, q) > 0) queries++;
  if (queries === 0) throw noPositivesError(loss, n);
  return { groups, queries };
}

/** Mean of the non-NaN entries (NaN marks skipped queries). */
export function meanValid(v: Float64Array): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x === x) {
      s += x;
      c++;
    }
  }
  return c ? s / c : NaN;
}
