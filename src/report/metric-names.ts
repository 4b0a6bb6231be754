/** Display names and roles of the metric columns of results.csv / summary.csv (experiments/columns.ts). */
import { AP_ESTIMATE_METRICS, METRIC_LABELS, RECALL_COLUMN, RETRIEVAL_METRICS } from '../experiments/columns.js';

export { AP_ESTIMATE_METRICS };

export function metricLabel(metric: string): string {
  const recall = RECALL_COLUMN.exec(metric);
  if (recall) return `Recall@${recall[1]}`;
  return METRIC_LABELS[metric] ?? metric;
}

/** Retrieval quality of the trained model: what the ablation chart plots on y. */
export function isRetrievalMetric(metric: string): boolean {
  return (RETRIEVAL_METRICS as readonly string[]).includes(metric) || RECALL_COLUMN.test(metric);
}

/** Metrics where a larger mean is better (the table marks the best group per dataset). */
export function higherIsBetter(metric: string): boolean {
  return isRetrievalMetric(metric);
}
