/**
 * Compares a run's per-cell metrics with a committed baseline. Pure: no I/O, so the verdict
 * logic is testable without running an experiment.
 */

import type { Tolerance } from '../experiments/types.js';
import { UNTRACKED_COLUMNS } from '../experiments/columns.js';
import type { Row, Value } from '../experiments/contract.js';

export type { Tolerance };

/** A results row typed by the results contract (experiments/contract.ts): both sides are read with it. */
export type { Row };

export type Verdict = 'ok' | 'CHANGED' | 'MISSING' | 'NEW';

export interface CheckRow {
  cell: string;
  metric: string;
  baseline: number | null;
  now: number | null;
  diff: number | null;
  tolerance: number | null;
  verdict: Verdict;
}

/** Columns compared when present; timing, identity and text columns (how a row was evaluated) never are. */
export const UNTRACKED = UNTRACKED_COLUMNS;

/**
 * Defaults: a 1% change in a metric near 0.5 (0.005) is 8× the allowed 6e-4, while float
 * differences between machines (wasm SIMD kernels differ by CPU) stay far below it.
 */
export const DEFAULT_TOLERANCE: Tolerance = { abs: 1e-4, rel: 1e-3 };

/** Numeric columns of a results row that the check tracks. */
export function trackedMetrics(header: readonly string[], sweptColumns: readonly string[]): string[] {
  const swept = new Set(sweptColumns);
  return header.filter((c) => !UNTRACKED.has(c) && !swept.has(c));
}

/**
 * A cell's identity for the check: what a person reads (dataset, loss, swept values, seed), not
 * the config hash, so that a new parameter default shows as moved numbers rather than as every
 * cell missing and new.
 */
export function cellKey(row: Row, sweptColumns: readonly string[]): string {
  // A value prints as the writer wrote it: String() of a double is its shortest round-trip form.
  const swept = sweptColumns.filter((c) => row[c] !== undefined && row[c] !== null).map((c) => `${c}=${String(row[c])}`);
  return [String(row.dataset), String(row.loss), ...swept, `seed=${String(row.seed)}`].join(' ');
}

/** Allowed distance, as numpy's isclose: abs + rel·|baseline|. */
export function allowed(tol: Tolerance, baseline: number): number {
  return tol.abs + tol.rel * Math.abs(baseline);
}

/** A metric of a row: the contract reads it as a number (NaN kept) or null when empty. */
function num(v: Value | undefined): number | null {
  return typeof v === 'number' ? v : null;
}

function sameValue(a: number | null, b: number | null, tol: Tolerance): { diff: number | null; ok: boolean } {
  if (a === null && b === null) return { diff: null, ok: true };
  if (a === null || b === null) return { diff: null, ok: false };
  if (Number.isNaN(a) || Number.isNaN(b)) return { diff: null, ok: Number.isNaN(a) && Number.isNaN(b) };
  const diff = b - a;
  return { diff, ok: Math.abs(diff) <= allowed(tol, a) };
}

export function compareRuns(
  baseline: readonly Row[],
  current: readonly Row[],
  metrics: readonly string[],
  tolerances: Record<string, Tolerance>,
  keyOf: (row: Row) => string = (row) => String(row.cell),
): CheckRow[] {
  const tolFor = (m: string): Tolerance => tolerances[m] ?? tolerances['*'] ?? DEFAULT_TOLERANCE;
  const now = new Map(current.map((r) => [keyOf(r), r]));
  const base = new Map(baseline.map((r) => [keyOf(r), r]));
  const out: CheckRow[] = [];
  for (const [cell, b] of base) {
    const c = now.get(cell);
    if (!c) {
      out.push({ cell, metric: '*', baseline: null, now: null, diff: null, tolerance: null, verdict: 'MISSING' });
      continue;
    }
    for (const m of metrics) {
      const bv = num(b[m]);
      const cv = num(c[m]);
      const { diff, ok } = sameValue(bv, cv, tolFor(m));
      out.push({
        cell,
        metric: m,
        baseline: bv,
        now: cv,
        diff,
        tolerance: bv === null || Number.isNaN(bv) ? null : allowed(tolFor(m), bv),
        verdict: ok ? 'ok' : 'CHANGED',
      });
    }
  }
  for (const cell of now.keys()) {
    if (!base.has(cell)) out.push({ cell, metric: '*', baseline: null, now: null, diff: null, tolerance: null, verdict: 'NEW' });
  }
  return out;
}

export function failed(rows: readonly CheckRow[]): CheckRow[] {
  return rows.filter((r) => r.verdict !== 'ok');
}
