import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, show } from '../core/errors.js';
import { readContractCsv, type ReadContext, type Row, type Value } from '../experiments/contract.js';
import { readManifest, type Manifest } from '../experiments/manifest-file.js';
import { readCellFile } from '../experiments/store.js';

/**
 * A results.csv / summary.csv value as the contract types it (experiments/contract.ts), except
 * that the report treats NaN and ±Infinity like an empty field: nothing to draw.
 */
export type { Manifest, Row, Value };

export interface CurvePoint {
  step: number;
  loss: number | null;
  apEstimate: number | null;
}

export interface CellRecord {
  id: string;
  dataset: string;
  loss: string;
  seed: number | null;
  swept: Record<string, Value>;
  includeQuery: boolean | null;
  curve: CurvePoint[];
  /** The cell's stored test batch (cells with an AP estimate), when well-formed. */
  exampleBatch: { embeddings: number[][]; labels: number[] } | null;
}

/** A stored example batch: equal-length rows of finite numbers and one finite label per row. */
function readBatch(v: unknown): CellRecord['exampleBatch'] {
  const b = v as { embeddings?: unknown; labels?: unknown } | null | undefined;
  if (!b || !Array.isArray(b.embeddings) || !Array.isArray(b.labels) || b.embeddings.length === 0 || b.embeddings.length !== b.labels.length) return null;
  const d = Array.isArray(b.embeddings[0]) ? (b.embeddings[0] as unknown[]).length : 0;
  const ok = d > 0 && b.embeddings.every((r) => Array.isArray(r) && r.length === d && r.every((x) => typeof x === 'number' && Number.isFinite(x)));
  return ok && b.labels.every((l) => typeof l === 'number' && Number.isFinite(l))
    ? { embeddings: b.embeddings as number[][], labels: b.labels as number[] }
    : null;
}

export interface ExperimentResults {
  experiment: string;
  dir: string;
  results: Row[];
  summary: Row[];
  /** Swept columns other than seed, in the order of results.csv. */
  swept: string[];
  /** Metric names in the order summary.csv first lists them. */
  metrics: string[];
  manifest: Manifest | null;
  /** Cells listed in results.csv whose cells/<id>.json could be read. */
  cells: CellRecord[];
}

/** A contract-typed file with non-finite numbers as null (the report draws finite values only). */
function readCsv(path: string, kind: 'results' | 'summary', ctx: ReadContext): { columns: string[]; rows: Row[] } {
  const t = readContractCsv(path, kind, ctx);
  for (const row of t.rows) for (const [c, v] of Object.entries(row)) if (typeof v === 'number' && !Number.isFinite(v)) row[c] = null;
  return t;
}

/** The columns strictly between `from` and `to` in a header (the pinned place of the swept columns). */
function between(columns: string[], from: string, to: string): string[] {
  return columns.slice(columns.indexOf(from) + 1, columns.indexOf(to));
}

function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function toValue(v: unknown): Value {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v === null || v === undefined) return null;
  return JSON.stringify(v);
}

/** One cell file as the report draws it; a torn or foreign file is skipped rather than failing the whole report. */
function readCell(path: string): CellRecord | null {
  const cell = readCellFile(path);
  if (!cell) return null;
  const swept: Record<string, Value> = {};
  for (const [k, v] of Object.entries(cell.swept ?? {})) swept[k] = toValue(v);
  const curve: CurvePoint[] = [];
  for (const p of Array.isArray(cell.curve) ? cell.curve : []) {
    const step = finite(p?.step);
    if (step === null) continue;
    curve.push({ step, loss: finite(p.loss), apEstimate: finite(p.apEstimate) });
  }
  const includeQuery = cell.apEstimate?.includeQuery;
  return {
    id: cell.id,
    dataset: String(cell.dataset ?? ''),
    loss: String(cell.loss ?? ''),
    seed: finite(cell.seed),
    swept,
    includeQuery: typeof includeQuery === 'boolean' ? includeQuery : null,
    curve,
    exampleBatch: readBatch(cell.exampleBatch),
  };
}

/**
 * Reads results/<experiment>/ with the results contract (experiments/contract.ts, manifest-file.ts;
 * cell files: types.ts). results.csv and summary.csv are required; manifest.json and cells/ are
 * optional (the charts that need them are skipped). `losses` types the loss.params.* columns of
 * losses the caller has loaded (a --plugin loss's read as text without it).
 */
export function readExperimentResults(experiment: string, resultsDir: string, losses?: ReadContext['losses']): ExperimentResults {
  const dir = join(resultsDir, experiment);
  const resultsPath = join(dir, 'results.csv');
  const summaryPath = join(dir, 'summary.csv');
  if (!existsSync(resultsPath)) {
    throw new UserError(`no results for experiment ${show(experiment)}: ${resultsPath} does not exist (run \`bench run ${experiment}\` first)`);
  }
  if (!existsSync(summaryPath)) {
    throw new UserError(`incomplete results for experiment ${show(experiment)}: ${summaryPath} does not exist (rerun \`bench run ${experiment}\`)`);
  }
  const manifestPath = join(dir, 'manifest.json');
  const manifest = existsSync(manifestPath) ? readManifest(manifestPath) : null;
  const ctx: ReadContext = {
    ...(losses ? { losses } : {}),
    ...(manifest?.resolved.base?.estimator ? { estimator: manifest.resolved.base.estimator.name } : {}),
  };
  const results = readCsv(resultsPath, 'results', ctx);
  const summary = readCsv(summaryPath, 'summary', ctx);
  const swept = between(results.columns, 'loss', 'seed');
  const summarySwept = between(summary.columns, 'loss', 'metric');
  if (swept.join('\u0000') !== summarySwept.join('\u0000')) {
    throw new UserError(`${summaryPath}: swept columns ${show(summarySwept)} differ from those of ${resultsPath} ${show(swept)}`);
  }
  const metrics: string[] = [];
  for (const row of summary.rows) if (!metrics.includes(String(row.metric))) metrics.push(String(row.metric));

  const ids = new Set(results.rows.map((r) => String(r.cell)));
  const cellsDir = join(dir, 'cells');
  const cells: CellRecord[] = [];
  if (existsSync(cellsDir)) {
    // Cells from earlier runs of a changed experiment may linger there; only results.csv's count.
    for (const f of readdirSync(cellsDir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const cell = readCell(join(cellsDir, f));
      if (cell && ids.has(cell.id)) cells.push(cell);
    }
  }
  return {
    experiment,
    dir,
    results: results.rows,
    summary: summary.rows,
    swept,
    metrics,
    manifest,
    cells,
  };
}
