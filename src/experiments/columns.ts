/** Metric columns of results.csv after the swept columns and seed, in the pinned order. */
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
