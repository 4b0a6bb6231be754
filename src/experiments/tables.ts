import { stringify } from 'csv-stringify/sync';
import { canonicalJson } from './canonical.js';
import { metricColumns, PROTOCOL_COLUMNS, protocolMetricColumns, RECALL_COLUMN, SUMMARY_COLUMNS } from './columns.js';
import { protocolOf } from './eval-protocol.js';
import { summarize } from './stats.js';
import type { CellResult, ResolvedExperiment } from './types.js';

/** A CSV as columns and rows of strings (what a CSV parser gives back). */
export interface Table {
  columns: string[];
  rows: Record<string, string>[];
}

/**
 * One cell value as text: numbers in their shortest round-trip form (so a parser gets the
 * exact double back), NaN as "NaN", a missing value (e.g. no AP estimate for triplet) as "".
 */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Every Recall@K of the cells, so that all rows share one header. */
export function allKs(cells: readonly CellResult[]): number[] {
  return [...new Set(cells.flatMap((c) => c.config.eval.k))].sort((a, b) => a - b);
}

/** The metric columns of these cells: the pinned ones, plus the protocol's when a cell uses a non-default one. */
function allMetricColumns(cells: readonly CellResult[], ks: readonly number[]): string[] {
  const specs = cells.map((c) => c.config.eval);
  const nonDefault = specs.some((e) => e.protocol !== undefined || e.similarity !== undefined || e.averaging !== undefined || e.testClasses !== undefined);
  const draws = specs.some((e) => e.protocol === 'gallery-draws');
  return nonDefault ? [...metricColumns(ks), ...protocolMetricColumns(ks, draws)] : metricColumns(ks);
}

function metricValues(c: CellResult, ks: readonly number[]): Record<string, number | null> {
  const m = c.metrics;
  const out: Record<string, number | null> = {
    map: m.map,
    mapAtR: m.mapAtR,
    rPrecision: m.rPrecision,
    precisionAt1: m.precisionAt1,
  };
  for (const k of ks) out[`recallAt${k}`] = m.recallAt[String(k)] ?? null;
  out.untrainedMap = c.untrained.map;
  out.inputMap = c.input?.map ?? null;
  out.inputMapAtR = c.input?.mapAtR ?? null;
  out.inputRecallAt1 = c.input ? (c.input.recallAt['1'] ?? c.input.precisionAt1) : null;
  out.apEstimate = c.apEstimate?.estimate ?? null;
  out.trueAP = c.apEstimate?.trueAP ?? null;
  out.apGap = c.apEstimate?.gap ?? null;
  out.trainMs = c.trainMs;
  out.mrr = m.mrr ?? null;
  out.queriesLeftOut = m.leftOut ?? null;
  if (m.draws) {
    const sd = m.draws.std;
    out.draws = m.draws.count;
    Object.assign(out, {
      mapDrawStd: sd.map,
      mapAtRDrawStd: sd.mapAtR,
      rPrecisionDrawStd: sd.rPrecision,
      precisionAt1DrawStd: sd.precisionAt1,
      mrrDrawStd: sd.mrr ?? null,
    });
    for (const k of ks) out[`recallAt${k}DrawStd`] = sd.recallAt[String(k)] ?? null;
  }
  return out;
}

/** One metric column's value for a cell, as results.csv holds it; null where the cell has none. */
export function cellMetric(c: CellResult, column: string): number | null {
  const k = RECALL_COLUMN.exec(column)?.[1];
  return metricValues(c, k === undefined ? [] : [Number(k)])[column] ?? null;
}

/** results.csv: one row per cell; identity columns, swept key paths, seed, then the metric columns (columns.ts). */
export function resultsTable(exp: ResolvedExperiment, cells: readonly CellResult[]): Table {
  const ks = allKs(cells);
  const metrics = allMetricColumns(cells, ks);
  const columns = ['experiment', 'cell', 'dataset', 'loss', ...exp.swept, 'seed', ...PROTOCOL_COLUMNS, ...metrics];
  const rows = cells.map((c) => {
    const p = protocolOf(c.config.eval);
    const values: Record<string, unknown> = {
      experiment: exp.name,
      cell: c.id,
      dataset: c.dataset,
      loss: c.loss,
      seed: c.seed,
      protocol: [
        p.protocol,
        ...(p.protocol === 'gallery-draws' ? [`perClass=${p.perClass}`, `draws=${p.draws}`] : []),
        ...(p.testClasses ? [`testClasses=${p.testClasses}`] : []),
      ].join(' '),
      similarity: p.similarity,
      averaging: p.averaging,
    };
    for (const col of exp.swept) values[col] = c.swept[col];
    Object.assign(values, metricValues(c, ks));
    return Object.fromEntries(columns.map((col) => [col, formatValue(values[col])]));
  });
  return { columns, rows };
}

/** A group over seeds: everything in the configuration but the seed. */
function groupKey(c: CellResult): string {
  const { seed: _seed, ...rest } = c.config;
  return canonicalJson(rest);
}

/** summary.csv: tidy, one row per (configuration without the seed) × metric the group has. */
export function summaryTable(exp: ResolvedExperiment, cells: readonly CellResult[]): Table {
  const ks = allKs(cells);
  // The number of draws is a setting, not a metric to average.
  const metrics = allMetricColumns(cells, ks).filter((m) => m !== 'draws');
  const columns = ['experiment', 'dataset', 'loss', ...exp.swept, ...SUMMARY_COLUMNS];
  const groups = new Map<string, CellResult[]>();
  for (const c of cells) {
    const k = groupKey(c);
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const rows: Record<string, string>[] = [];
  for (const members of groups.values()) {
    const first = members[0]!;
    const values = members.map((c) => metricValues(c, ks));
    for (const metric of metrics) {
      const xs = values.map((v) => v[metric]).filter((v): v is number => v !== null && v !== undefined);
      const s = summarize(xs);
      if (s.n === 0) continue;
      // One seed has no spread: the cells stay empty rather than "NaN".
      const spread = s.n > 1 ? { std: s.std, ci95Low: s.ci95Low, ci95High: s.ci95High } : {};
      const row: Record<string, unknown> = { experiment: exp.name, dataset: first.dataset, loss: first.loss, metric, mean: s.mean, n: s.n, ...spread };
      for (const col of exp.swept) row[col] = first.swept[col];
      rows.push(Object.fromEntries(columns.map((col) => [col, formatValue(row[col])])));
    }
  }
  return { columns, rows };
}

export function toCsv(t: Table): string {
  return stringify([t.columns, ...t.rows.map((r) => t.columns.map((c) => r[c] ?? ''))]);
}
