/** Display names and roles of the metric columns of results.csv / summary.csv (experiments/columns.ts). */
import { METRIC_LABELS } from '../experiments/columns.js';

export function metricLabel(metric: string): string {
  const recall = /^recallAt(\d+)$/.exec(metric);
  if (recall) return `Recall@${recall[1]}`;
  return METRIC_LABELS[metric] ?? metric;
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
