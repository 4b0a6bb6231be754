/** Display names and roles of the metric columns pinned for results.csv / summary.csv. */

const LABELS: Record<string, string> = {
  map: 'mAP',
  mapAtR: 'MAP@R',
  rPrecision: 'R-precision',
  precisionAt1: 'P@1',
  untrainedMap: 'mAP (untrained)',
  apEstimate: 'AP estimate',
  trueAP: 'true AP',
  apGap: 'AP gap (estimate − true)',
  trainMs: 'train time (ms)',
};

export function metricLabel(metric: string): string {
  const recall = /^recallAt(\d+)$/.exec(metric);
  if (recall) return `Recall@${recall[1]}`;
  return LABELS[metric] ?? metric;
}

/** Metrics of the estimated-vs-true-AP chart, not of the retrieval-metric chart. */
export const AP_ESTIMATE_METRICS = ['apEstimate', 'trueAP', 'apGap'] as const;

/** Retrieval quality of the trained model: what the ablation chart plots on y. */
export function isRetrievalMetric(metric: string): boolean {
  return ['map', 'mapAtR', 'rPrecision', 'precisionAt1'].includes(metric) || /^recallAt\d+$/.test(metric);
}

/** Metrics where a larger mean is better (the table marks the best group per dataset). */
export function higherIsBetter(metric: string): boolean {
  return isRetrievalMetric(metric);
}
