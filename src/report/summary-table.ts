import { higherIsBetter } from './metric-names.js';
import type { ExperimentResults, Row, Value } from './read-results.js';

export interface TableCell {
  mean: number;
  ci95Low: number | null;
  ci95High: number | null;
  n: number | null;
}

export interface TableRow {
  key: Record<string, Value>;
  n: number | null;
  cells: Record<string, TableCell | undefined>;
  /** Metrics for which this group has the best mean within its dataset. */
  best: Set<string>;
}

export interface SummaryTable {
  groupColumns: string[];
  metrics: string[];
  rows: TableRow[];
  /** Decimal places per metric, chosen from the metric's magnitude. */
  decimals: Record<string, number>;
}

/** Numbers ascending; names in the order the results list them (the experiment file's order). */
function compare(a: Value, b: Value, seen: Value[]): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return seen.indexOf(a) - seen.indexOf(b);
}

function num(v: Value): number | null {
  return typeof v === 'number' ? v : null;
}

/** Four significant digits for the largest value in the column, at most six decimals. */
export function decimalsFor(values: number[]): number {
  const max = Math.max(0, ...values.map(Math.abs).filter(Number.isFinite));
  if (max === 0) return 4;
  return Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(max))));
}

/** One row per group over seeds (dataset, loss, swept values), one column per metric. */
export function summaryTable(exp: ExperimentResults): SummaryTable {
  const groupColumns = ['dataset', 'loss', ...exp.swept];
  const datasets = [...new Set(exp.summary.map((r) => String(r.dataset)))];
  const losses = [...new Set(exp.summary.map((r) => String(r.loss)))];
  const groups = new Map<string, { key: Record<string, Value>; rows: Row[] }>();
  for (const row of exp.summary) {
    const key: Record<string, Value> = {};
    for (const c of groupColumns) key[c] = row[c] ?? null;
    const id = JSON.stringify(groupColumns.map((c) => key[c]));
    const g = groups.get(id) ?? { key, rows: [] };
    g.rows.push(row);
    groups.set(id, g);
  }
  const rows: TableRow[] = [...groups.values()].map(({ key, rows: members }) => {
    const cells: Record<string, TableCell | undefined> = {};
    let n: number | null = null;
    for (const r of members) {
      const mean = num(r.mean ?? null);
      if (mean === null) continue;
      const cell = { mean, ci95Low: num(r.ci95Low ?? null), ci95High: num(r.ci95High ?? null), n: num(r.n ?? null) };
      cells[String(r.metric)] = cell;
      if (cell.n !== null) n = Math.max(n ?? 0, cell.n);
    }
    return { key, n, cells, best: new Set<string>() };
  });
  const seen: Record<string, Value[]> = {};
  for (const c of exp.swept) seen[c] = [...new Set(exp.summary.map((r) => r[c] ?? null))];
  rows.sort((a, b) => {
    const d = datasets.indexOf(String(a.key.dataset)) - datasets.indexOf(String(b.key.dataset));
    if (d !== 0) return d;
    const l = losses.indexOf(String(a.key.loss)) - losses.indexOf(String(b.key.loss));
    if (l !== 0) return l;
    for (const c of exp.swept) {
      const v = compare(a.key[c] ?? null, b.key[c] ?? null, seen[c]!);
      if (v !== 0) return v;
    }
    return 0;
  });
  const metrics = exp.metrics.filter((m) => rows.some((r) => r.cells[m]));
  const decimals: Record<string, number> = {};
  for (const m of metrics) {
    const vals = rows.flatMap((r) => {
      const c = r.cells[m];
      return c ? [c.mean] : [];
    });
    decimals[m] = decimalsFor(vals);
    if (!higherIsBetter(m)) continue;
    for (const ds of datasets) {
      const inDs = rows.filter((r) => r.key.dataset === ds && r.cells[m]);
      if (inDs.length < 2) continue;
      const best = Math.max(...inDs.map((r) => r.cells[m]!.mean));
      for (const r of inDs) if (r.cells[m]!.mean === best) r.best.add(m);
    }
  }
  return { groupColumns, metrics, rows, decimals };
}

/** "mean ± half-width of the 95% CI", or the mean alone when there is no interval (n = 1). */
export function formatCell(cell: TableCell, decimals: number): string {
  const mean = cell.mean.toFixed(decimals);
  if (cell.ci95Low === null || cell.ci95High === null) return mean;
  return `${mean} ± ${((cell.ci95High - cell.ci95Low) / 2).toFixed(decimals)}`;
}
