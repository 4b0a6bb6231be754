import { SLOTS, SLOT_AP, SLOT_FIRST_RANK } from './retrieval-core.js';

/** Retrieval of one class's queries: which classes a model fails on. */
export interface PerClassMetrics {
  /** The class as the user's files name it (its index when the dataset has no names). */
  class: string;
  /** Queries of the class with at least one other item of the class. */
  queries: number;
  /** Mean AP of those queries. */
  ap: number;
  /** Share of those queries whose nearest other item is of the class. */
  recallAt1: number;
}

/**
 * Groups per-query results (retrievalPerQuery's n × SLOTS layout) by the query's class, in
 * ascending label order. A class whose every query has R = 0 is left out, as in the totals.
 */
export function perClassMetrics(perQuery: Float64Array, labels: Int32Array, classNames?: readonly string[]): PerClassMetrics[] {
  const acc = new Map<number, { n: number; ap: number; r1: number }>();
  for (let q = 0; q < labels.length; q++) {
    const ap = perQuery[q * SLOTS + SLOT_AP]!;
    if (Number.isNaN(ap)) continue;
    const a = acc.get(labels[q]!) ?? { n: 0, ap: 0, r1: 0 };
    a.n++;
    a.ap += ap;
    if (perQuery[q * SLOTS + SLOT_FIRST_RANK] === 1) a.r1++;
    acc.set(labels[q]!, a);
  }
  return [...acc.keys()]
    .sort((x, y) => x - y)
    .map((l) => {
      const a = acc.get(l)!;
      return { class: classNames?.[l] ?? String(l), queries: a.n, ap: a.ap / a.n, recallAt1: a.r1 / a.n };
    });
}
