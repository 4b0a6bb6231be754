/** Retrieval metrics over a set where every item is a query against all others (query excluded). */
export interface RetrievalMetrics {
  map: number;
  mapAtR: number;
  rPrecision: number;
  precisionAt1: number;
  /** Keyed by K as a string, e.g. {"1": 0.8, "2": 0.9}. */
  recallAt: Record<string, number>;
  /** Number of queries that had at least one other item of their class. */
  queries: number;
}
