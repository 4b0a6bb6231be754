/**
 * The results contract: the columns of results.csv and summary.csv, which the runner writes,
 * `bench check` compares and the report reads. A new column is added here, once.
 */

/** Columns that say which cell a row is (never compared as numbers). */
export const IDENTITY_COLUMNS = ['experiment', 'cell', 'dataset', 'loss', 'seed'] as const;

/** Display name of each metric column (Recall@K columns are named from their K). */
export const METRIC_LABELS: Record<string, string> = {
  map: 'mAP',
  mapAtR: 'MAP@R',
  rPrecision: 'R-precision',
  precisionAt1: 'P@1',
  mrr: 'MRR',
  untrainedMap: 'mAP (untrained)',
  inputMap: 'mAP (input features)',
  inputMapAtR: 'MAP@R (input features)',
  inputRecallAt1: 'Recall@1 (input features)',
  apEstimate: 'AP estimate',
  trueAP: 'true AP',
  apGap: 'AP gap (estimate − true)',
  trainMs: 'train time (ms)',
};

/** The trained model's retrieval metrics, in results.csv order; Recall@K columns follow them. */
export const RETRIEVAL_METRICS = ['map', 'mapAtR', 'rPrecision', 'precisionAt1'] as const;

/** The Recall@K column of one K. */
export function recallColumn(k: number): string {
  return `recallAt${k}`;
}

/** Matches a Recall@K column; group 1 is K. */
export const RECALL_COLUMN = /^recallAt(\d+)$/;

/** The metric columns after Recall@K, in results.csv order. */
const LATER_METRICS = ['untrainedMap', 'inputMap', 'inputMapAtR', 'inputRecallAt1', 'apEstimate', 'trueAP', 'apGap', 'trainMs'] as const;

/** Metrics of the estimated-vs-true-AP comparison (cells of a loss that estimates AP). */
export const AP_ESTIMATE_METRICS = ['apEstimate', 'trueAP', 'apGap'] as const;

/** The retrieval metrics with Recall@K of these K: what a tuning objective or a per-fold table may name. */
export function retrievalMetricColumns(ks: readonly number[]): string[] {
  return [...RETRIEVAL_METRICS, ...ks.map(recallColumn)];
}

/** Metric columns of results.csv after the swept columns and seed, in this order. */
export function metricColumns(ks: readonly number[]): string[] {
  return [...retrievalMetricColumns(ks), ...LATER_METRICS];
}

/** Metrics a tolerance may be set for: every metric column but the train time. */
export function trackableMetrics(ks: readonly number[]): string[] {
  return metricColumns(ks).filter((c) => c !== 'trainMs');
}

/** Text columns of results.csv, after the seed: how each row's numbers were produced. */
export const PROTOCOL_COLUMNS = ['protocol', 'similarity', 'averaging'] as const;

/** Columns `bench check` never compares: identity, how a row was produced, and timing. */
export const UNTRACKED_COLUMNS: ReadonlySet<string> = new Set([...IDENTITY_COLUMNS, ...PROTOCOL_COLUMNS, 'trainMs']);

/**
 * Metric columns added when an experiment evaluates under a protocol other than the default
 * (leave-one-out, dot, per query), so that results of existing experiments keep their columns:
 * the mean reciprocal rank, the queries left out for having no positive in the gallery, and with
 * gallery-draws the number of draws and each metric's standard deviation over them.
 */
export function protocolMetricColumns(ks: readonly number[], draws: boolean): string[] {
  const spread = [...RETRIEVAL_METRICS, 'mrr', ...ks.map(recallColumn)].map((m) => `${m}${DRAW_STD}`);
  return ['mrr', 'queriesLeftOut', ...(draws ? ['draws', ...spread] : [])];
}

/** Suffix of a metric's standard deviation over gallery draws. */
const DRAW_STD = 'DrawStd';

/** Metric columns that hold counts (integers), not scores. */
export const COUNT_METRICS: ReadonlySet<string> = new Set(['queriesLeftOut', 'draws']);

/** Whether a column of results.csv is a metric (any K, with or without the protocol's columns). */
export function isMetricColumn(column: string): boolean {
  const base = column.endsWith(DRAW_STD) ? column.slice(0, -DRAW_STD.length) : column;
  const named = new Set<string>([...RETRIEVAL_METRICS, ...LATER_METRICS, 'mrr', ...COUNT_METRICS]);
  return named.has(base) || RECALL_COLUMN.test(base);
}

/** Columns of summary.csv after the swept ones: the metric's name, then its statistics over seeds. */
export const SUMMARY_COLUMNS = ['metric', 'mean', 'std', 'n', 'ci95Low', 'ci95High'] as const;
