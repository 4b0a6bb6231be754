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

/** Metric columns of results.csv after the swept columns and seed, in this order. */
export function metricColumns(ks: readonly number[]): string[] {
  return [
    'map',
    'mapAtR',
    'rPrecision',
    'precisionAt1',
    ...ks.map((k) => `recallAt${k}`),
    'untrainedMap',
    'inputMap',
    'inputMapAtR',
    'inputRecallAt1',
    'apEstimate',
    'trueAP',
    'apGap',
    'trainMs',
  ];
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
  const spread = ['map', 'mapAtR', 'rPrecision', 'precisionAt1', 'mrr', ...ks.map((k) => `recallAt${k}`)].map((m) => `${m}DrawStd`);
  return ['mrr', 'queriesLeftOut', ...(draws ? ['draws', ...spread] : [])];
}
