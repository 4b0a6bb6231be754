import { UserError, show } from '../core/errors.js';
import type { Manifest, Row, Value } from './read-results.js';

/**
 * One x axis of a chart. An experiment may sweep a different parameter per loss (Smooth-AP over
 * τ, FastAP over bins): those cannot share an axis, so each such parameter gets its own panel.
 */
export interface Panel {
  /** Column of the rows plotted on x ('loss' when nothing else is swept). */
  x: string;
  categorical: boolean;
  logX: boolean;
  losses: string[];
  /** Other swept columns that vary inside the panel: they split the series. */
  splitBy: string[];
  /** x values in axis order (numbers ascending, categories as first seen). */
  domain: Value[];
}

function distinct(values: Value[]): Value[] {
  const seen = new Set<string>();
  const out: Value[] = [];
  for (const v of values) {
    const key = typeof v + ':' + String(v);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(v);
    }
  }
  return out;
}

function nonNull(rows: Row[], col: string): Value[] {
  return rows.map((r) => r[col] ?? null).filter((v) => v !== null);
}

/** The last segment of a key path: "loss.params.tau" → "tau". */
export function shortName(column: string): string {
  const i = column.lastIndexOf('.');
  return i < 0 ? column : column.slice(i + 1);
}

/** A log axis is the default for temperature-like parameters, whose values span decades. */
export function wantsLog(column: string, manifest: Pick<Manifest, 'report'> | null): boolean {
  if (manifest?.report?.x === column && typeof manifest.report.logX === 'boolean') return manifest.report.logX;
  return /tau$/i.test(shortName(column));
}

function makePanel(x: string, rows: Row[], losses: string[], swept: string[], manifest: Pick<Manifest, 'report'> | null): Panel {
  const values = distinct(nonNull(rows, x));
  const categorical = values.some((v) => typeof v !== 'number');
  const domain = categorical ? values.map(String) : [...values].sort((a, b) => (a as number) - (b as number));
  const logX = !categorical && wantsLog(x, manifest) && values.every((v) => (v as number) > 0);
  const splitBy = swept.filter((c) => c !== x && distinct(nonNull(rows, c)).length > 1);
  return { x, categorical, logX, losses, splitBy, domain };
}

/**
 * Decides what goes on x, per loss: manifest.report.x where that loss has values for it;
 * otherwise the first swept column that varies among the loss's rows (or at least has a value);
 * with nothing swept, the loss itself. Losses that end up on the same column share a panel.
 */
export function planPanels(rows: Row[], swept: string[], manifest: Pick<Manifest, 'report'> | null): Panel[] {
  const losses = distinct(rows.map((r) => r.loss ?? null)).map(String);
  const forced = manifest?.report?.x;
  const allowed = [...swept, 'dataset', 'loss'];
  if (forced !== undefined && !allowed.includes(forced)) {
    throw new UserError(`manifest.json: report.x is ${show(forced)}, not a column of results.csv; allowed: ${allowed.join(', ')}`);
  }
  const byColumn = new Map<string, string[]>();
  // A loss without report.x's parameter prefers its own parameter of the same plugin (FastAP's bins beside Smooth-AP's τ).
  const sibling = forced !== undefined && forced.includes('.params.') ? forced.slice(0, forced.indexOf('.params.') + '.params.'.length) : null;
  for (const loss of losses) {
    const own = rows.filter((r) => r.loss === loss);
    const present = swept.filter((c) => nonNull(own, c).length > 0);
    const varies = (c: string): boolean => distinct(nonNull(own, c)).length > 1;
    // report.x names the ablated parameter; a loss without it (the baseline beside the ablation) falls back.
    const x =
      forced !== undefined && (forced === 'dataset' || forced === 'loss' || present.includes(forced))
        ? forced
        : ((sibling !== null ? present.find((c) => c.startsWith(sibling) && varies(c)) : undefined) ?? present.find(varies) ?? present[0] ?? 'loss');
    byColumn.set(x, [...(byColumn.get(x) ?? []), loss]);
  }
  return [...byColumn].map(([x, ls]) =>
    makePanel(
      x,
      rows.filter((r) => ls.includes(String(r.loss))),
      ls,
      swept,
      manifest,
    ),
  );
}

export function formatValue(v: Value): string {
  return v === null ? '—' : String(v);
}

/** The legend entry of a row in a panel: its loss, plus the other swept values that vary there. */
export function seriesLabel(row: Row, panel: Panel): string {
  const parts = [String(row.loss)];
  for (const c of panel.splitBy) parts.push(`${shortName(c)}=${formatValue(row[c] ?? null)}`);
  return parts.join(' · ');
}

/** x for a row: numbers stay numbers on a quantitative axis; categories are strings. */
export function xValue(row: Row, panel: Panel): Value {
  const v = row[panel.x] ?? null;
  if (v === null) return null;
  return panel.categorical ? String(v) : v;
}

/** Axis title: the key path as in results.csv, so readers can find the column. */
export function axisTitle(panel: Panel): string {
  return panel.logX ? `${panel.x} (log scale)` : panel.x;
}
