import type { ClaimResult } from '../claims/evaluate.js';
import { verdictLines } from '../claims/output.js';
import { plainTable } from '../core/text-table.js';
import type { Table } from './tables.js';

const SHOWN: Array<[string, string]> = [
  ['map', 'mAP'],
  ['untrainedMap', 'untrained mAP'],
  ['inputMap', 'input mAP'],
  ['mapAtR', 'MAP@R'],
  ['recallAt1', 'R@1'],
  ['apGap', 'AP est − true'],
];

function meanCi(row: Record<string, string> | undefined): string {
  if (!row) return '';
  const mean = Number(row.mean);
  const hi = Number(row.ci95High);
  const m = mean.toFixed(4);
  return row.ci95High === '' || !Number.isFinite(hi) ? m : `${m} ± ${(hi - mean).toFixed(4)}`;
}

/**
 * The verdict of each claim on each dataset, one a line, under a heading; '' when the
 * experiment states no claim. The run summary ends with it.
 */
export function formatVerdicts(claims: readonly ClaimResult[]): string {
  return claims.length ? `Claims (paired comparisons over seeds, 95%):\n${verdictLines(claims).join('\n')}` : '';
}

/**
 * The summary as a fixed-width text table: one line per group over seeds, the main metrics as
 * mean ± half-width of the 95% CI.
 */
export function formatSummary(summary: Table, swept: readonly string[]): string {
  const keyCols = ['dataset', 'loss', ...swept];
  const groups = new Map<string, Map<string, Record<string, string>>>();
  for (const r of summary.rows) {
    const k = JSON.stringify(keyCols.map((c) => r[c]));
    const g = groups.get(k) ?? new Map<string, Record<string, string>>();
    g.set(r.metric!, r);
    groups.set(k, g);
  }
  const metrics = SHOWN.filter(([m]) => [...groups.values()].some((g) => g.has(m)));
  const header = [...keyCols, 'n', ...metrics.map(([, label]) => label)];
  const lines: string[][] = [];
  for (const [k, g] of groups) {
    const keys = JSON.parse(k) as string[];
    const n = g.get('map')?.n ?? [...g.values()][0]?.n ?? '';
    lines.push([...keys, n, ...metrics.map(([m]) => meanCi(g.get(m)))]);
  }
  return plainTable(header, lines);
}
