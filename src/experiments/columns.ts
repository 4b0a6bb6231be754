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
