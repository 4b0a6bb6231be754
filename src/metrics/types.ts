/**
 * Retrieval metrics of a set of queries against a gallery (in leave-one-out, the set itself with
 * each query left out of its own ranking).
 */
export interface RetrievalMetrics {
  map: number;
  mapAtR: number;
  rPrecision: number;
  precisionAt1: number;
  /** Keyed by K as a string, e.g. {"1": 0.8, "2": 0.9}. */
  recallAt: Record<string, number>;
  /** Mean reciprocal rank of the first positive (absent in results written before it existed). */
  mrr?: number;
  /** Number of queries evaluated: those with at least one positive in the gallery. */
  queries: number;
  /** Queries left out of every mean for having no positive in the gallery (absent: not recorded). */
  leftOut?: number;
  /** With repeated gallery draws: how many, and each metric's standard deviation over them. */
  draws?: DrawSpread;
}

/** The spread of each metric over repeated gallery draws (sample standard deviation, n − 1). */
export interface DrawSpread {
  count: number;
  std: Omit<RetrievalMetrics, 'queries' | 'leftOut' | 'draws'>;
}

/** How the per-query values are averaged. */
export type Averaging = 'query' | 'class';
export const AVERAGINGS: readonly Averaging[] = ['query', 'class'];
