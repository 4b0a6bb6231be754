import type { Value } from './contract.js';

/** summary.csv rows as text (the writer's table) or typed (read with the contract). */
type SummaryRows = { rows: ReadonlyArray<Readonly<Record<string, Value | undefined>>> };

/**
 * Groups (a configuration over seeds) whose trained mAP is below the mAP of the dataset's own
 * features under the same evaluation: training made retrieval worse than using the raw inputs.
 * One line each, for the run summary and the report.
 */
export function worseThanInputs(summary: SummaryRows, swept: readonly string[]): string[] {
  const keyCols = ['dataset', 'loss', ...swept];
  const groups = new Map<string, { label: string; map?: number; input?: number }>();
  for (const r of summary.rows) {
    if (r.metric !== 'map' && r.metric !== 'inputMap') continue;
    const label = keyCols
      .filter((c) => r[c] !== undefined && r[c] !== null && r[c] !== '')
      .map((c) => (c === 'dataset' || c === 'loss' ? String(r[c]) : `${c}=${String(r[c])}`))
      .join(' ');
    const g = groups.get(label) ?? { label };
    if (r.metric === 'map') g.map = Number(r.mean);
    else g.input = Number(r.mean);
    groups.set(label, g);
  }
  return [...groups.values()]
    .filter((g) => g.map !== undefined && g.input !== undefined && g.map < g.input)
    .map(
      (g) =>
        `${g.label}: trained mAP ${g.map!.toFixed(4)} < ${g.input!.toFixed(4)} of the input features — training made retrieval worse than the raw features`,
    );
}
