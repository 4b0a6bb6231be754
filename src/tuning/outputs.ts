import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { aggregate } from '../experiments/runner.js';
import { experimentDir } from '../experiments/store.js';
import { retrievalMetricColumns } from '../experiments/columns.js';
import { cellMetric, formatValue, resultsTable, summaryTable, toCsv, type Table } from '../experiments/tables.js';
import type { Cell, CellConfig, CellResult, ResolvedExperiment } from '../experiments/types.js';
import { summarize } from '../experiments/stats.js';
import { fairnessPanel, type FairnessRow } from './fairness.js';
import { holm, pairedTTest } from '../claims/stats.js';
import type { Point } from './space.js';
import type { TuneSpec } from './spec.js';
import type { Trial, TuneGroup } from './driver.js';

export interface Chosen {
  group: TuneGroup;
  best: Trial;
  cells: Cell[];
}

export interface Comparison {
  dataset: string;
  metric: string;
  a: string;
  b: string;
  n: number;
  /** Mean over seeds of a − b, with its 95% t-interval. */
  meanDiff: number;
  ci95Low: number;
  ci95High: number;
  p: number;
  /** Holm-adjusted over the pairs of the dataset. */
  pHolm: number;
  verdict: string;
}

export interface TestRow {
  dataset: string;
  loss: string;
  metric: string;
  mean: number;
  ci95Low: number;
  ci95High: number;
  n: number;
}

/** What the report section draws (results/<exp>/tuning-report.json). */
export interface TuningReport {
  experiment: string;
  objective: string;
  strategy: string;
  budget: number;
  folds: number;
  seeds: number[];
  bestSoFar: Array<{ dataset: string; loss: string; values: Array<number | null> }>;
  chosen: Array<{ dataset: string; loss: string; trial: number; values: Point; meanObjective: number }>;
  test: TestRow[];
  comparisons: Comparison[];
  fairness: Array<{ dataset: string; rows: FairnessRow[] }>;
}

export interface TuningOutputs {
  dir: string;
  files: string[];
  results: Table;
  summary: Table;
  report: TuningReport;
}

export interface OutputInput {
  resultsDir: string;
  experiment: ResolvedExperiment;
  spec: TuneSpec;
  trials: Trial[];
  chosen: Chosen[];
  tunedKeys: string[];
  backend: string;
  startedAt: string;
  command: string;
}

const SIGNIFICANCE = 0.05;

const metricNames = retrievalMetricColumns;

function metricOf(r: CellResult, metric: string): number {
  return cellMetric(r, metric) ?? NaN;
}

/** tuning.csv: one row per trial × fold, every tuned key its own column, the validation metrics. */
function tuningTable(trials: readonly Trial[], tunedKeys: readonly string[], ks: readonly number[]): Table {
  const metrics = metricNames(ks);
  const columns = ['dataset', 'loss', 'trial', 'round', 'fold', 'cell', ...tunedKeys, ...metrics, 'trainMs'];
  const rows = trials.flatMap((t) =>
    t.cells.map((c, i) => {
      const r = t.results[i] ?? null;
      const v: Record<string, unknown> = {
        dataset: t.group.dataset,
        loss: t.group.loss,
        trial: t.trial,
        round: t.round,
        fold: c.config.validation?.fold,
        cell: c.id,
      };
      for (const k of tunedKeys) v[k] = t.point[k];
      for (const m of metrics) v[m] = r ? metricOf(r, m) : null;
      v.trainMs = r?.trainMs ?? null;
      return Object.fromEntries(columns.map((col) => [col, formatValue(v[col])]));
    }),
  );
  return { columns, rows };
}

/** The untrained model of each test seed as its own rows (loss "untrained"): the floor every loss must clear. */
function untrainedRows(results: readonly CellResult[], tunedKeys: readonly string[]): CellResult[] {
  const seen = new Set<string>();
  const out: CellResult[] = [];
  for (const r of results) {
    const key = `${JSON.stringify(r.config.dataset)}|${r.seed}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const swept: CellResult['swept'] = { run: 'untrained' };
    for (const k of tunedKeys) swept[k] = null;
    const config: CellConfig = { ...r.config, loss: { name: 'untrained', params: {} } };
    out.push({ ...r, id: `${r.id}-untrained`, config, loss: 'untrained', metrics: r.untrained, apEstimate: null, curve: [], trainMs: 0, swept });
  }
  return out;
}

function pairwise(dataset: string, metric: string, byLoss: Map<string, CellResult[]>): Comparison[] {
  const losses = [...byLoss.keys()];
  const out: Omit<Comparison, 'pHolm' | 'verdict'>[] = [];
  for (let i = 0; i < losses.length; i++) {
    for (let j = i + 1; j < losses.length; j++) {
      const a = losses[i]!;
      const b = losses[j]!;
      // Paired by seed: the same seed gives both losses the same initialisation and batches' order.
      const bySeed = new Map(byLoss.get(b)!.map((r) => [r.seed, r]));
      const diffs = byLoss
        .get(a)!
        .filter((r) => bySeed.has(r.seed))
        .map((r) => metricOf(r, metric) - metricOf(bySeed.get(r.seed)!, metric));
      const t = pairedTTest(diffs);
      out.push({ dataset, metric, a, b, n: t.n, meanDiff: t.mean, ci95Low: t.ciLow, ci95High: t.ciHigh, p: t.p });
    }
  }
  const adjusted = holm(out.map((c) => c.p));
  return out.map((c, k) => {
    const pHolm = adjusted[k]!;
    const verdict = !Number.isFinite(pHolm)
      ? 'too few seeds to compare'
      : pHolm < SIGNIFICANCE
        ? `${c.meanDiff > 0 ? c.a : c.b} better`
        : 'no significant difference';
    return { ...c, pHolm, verdict };
  });
}

function comparisonsTable(cs: readonly Comparison[]): Table {
  const columns = ['dataset', 'metric', 'a', 'b', 'n', 'meanDiff', 'ci95Low', 'ci95High', 'p', 'pHolm', 'verdict'];
  return { columns, rows: cs.map((c) => Object.fromEntries(columns.map((col) => [col, formatValue((c as unknown as Record<string, unknown>)[col])]))) };
}

function perClassTable(results: readonly CellResult[]): Table {
  const columns = ['dataset', 'loss', 'seed', 'cell', 'class', 'queries', 'ap', 'recallAt1'];
  const rows = results.flatMap((r) =>
    (r.perClass ?? []).map((p) =>
      Object.fromEntries(columns.map((col) => [col, formatValue({ dataset: r.dataset, loss: r.loss, seed: r.seed, cell: r.id, ...p }[col])])),
    ),
  );
  return { columns, rows };
}

/**
 * Writes tuning.csv, best.json, results.csv and summary.csv (the test runs of the chosen
 * configurations, run = test, and the untrained model, run = untrained), perclass.csv,
 * comparisons.csv, tuning-report.json and manifest.json, all atomically.
 */
export function writeTuningOutputs(o: OutputInput): TuningOutputs {
  const { resultsDir, experiment: exp, spec, trials, chosen, tunedKeys } = o;
  const dir = experimentDir(resultsDir, exp.name);
  const testCells = chosen.flatMap((c) => c.cells);
  const agg = aggregate(exp, testCells, resultsDir, { backend: o.backend, startedAt: o.startedAt, command: o.command, ranNow: 0, reused: 0 });
  const finished = agg.finished;
  const all = [...finished, ...untrainedRows(finished, tunedKeys)];
  const results = resultsTable(exp, all);
  const summary = summaryTable(exp, all);
  const ks = [...new Set(finished.flatMap((r) => r.config.eval.k))].sort((a, b) => a - b);

  const datasets = [...new Set(chosen.map((c) => c.group.datasetKey))];
  const comparisons: Comparison[] = [];
  const test: TestRow[] = [];
  const fairness: TuningReport['fairness'] = [];
  for (const dk of datasets) {
    const mine = chosen.filter((c) => c.group.datasetKey === dk);
    const dataset = mine[0]!.group.dataset;
    const byLoss = new Map(mine.map((c) => [c.group.loss, finished.filter((r) => c.cells.some((cell) => cell.id === r.id))]));
    comparisons.push(...pairwise(dataset, spec.objective, byLoss));
    const base = untrainedRows([...byLoss.values()].flat(), tunedKeys);
    for (const metric of [...new Set([spec.objective, 'map', 'precisionAt1'])]) {
      for (const [loss, rs] of [...byLoss, ['untrained', base] as const]) {
        const s = summarize(rs.map((r) => metricOf(r, metric)));
        test.push({ dataset, loss, metric, mean: s.mean, ci95Low: s.ci95Low, ci95High: s.ci95High, n: s.n });
      }
    }
    const configs = Object.fromEntries(mine.map((c) => [c.group.loss, c.cells[0]!.config]));
    const tuned = Object.fromEntries(mine.map((c) => [c.group.loss, c.group.tunedKeys]));
    const counts = Object.fromEntries(mine.map((c) => [c.group.loss, trials.filter((t) => t.group === c.group && Number.isFinite(t.objective)).length]));
    fairness.push({ dataset, rows: fairnessPanel(configs, tuned, counts) });
  }

  const best = {
    experiment: exp.name,
    objective: spec.objective,
    averagedOver: `${spec.folds} class-disjoint validation folds of the train classes`,
    strategy: spec.strategy,
    budget: spec.budget,
    seed: spec.seed,
    testSeeds: exp.seeds,
    chosen: chosen.map((c) => ({
      dataset: c.group.dataset,
      loss: c.group.loss,
      trial: c.best.trial,
      values: c.best.point,
      meanObjective: c.best.objective,
      foldObjectives: c.best.results.map((r) => (r ? metricOf(r, spec.objective) : null)),
      trialsFinished: trials.filter((t) => t.group === c.group && Number.isFinite(t.objective)).length,
    })),
  };
  const report: TuningReport = {
    experiment: exp.name,
    objective: spec.objective,
    strategy: spec.strategy,
    budget: spec.budget,
    folds: spec.folds,
    seeds: exp.seeds,
    bestSoFar: chosen.map((c) => {
      let run = -Infinity;
      const values = trials
        .filter((t) => t.group === c.group)
        .sort((a, b) => a.trial - b.trial)
        .map((t) => {
          if (Number.isFinite(t.objective)) run = Math.max(run, t.objective);
          return Number.isFinite(run) ? run : null;
        });
      return { dataset: c.group.dataset, loss: c.group.loss, values };
    }),
    chosen: best.chosen.map(({ dataset, loss, trial, values, meanObjective }) => ({ dataset, loss, trial, values, meanObjective })),
    test,
    comparisons,
    fairness,
  };

  const files: Array<[string, string]> = [
    ['tuning.csv', toCsv(tuningTable(trials, tunedKeys, ks))],
    ['best.json', JSON.stringify(best, null, 2) + '\n'],
    ['results.csv', toCsv(results)],
    ['summary.csv', toCsv(summary)],
    ['perclass.csv', toCsv(perClassTable(finished))],
    ['comparisons.csv', toCsv(comparisonsTable(comparisons))],
    ['tuning-report.json', JSON.stringify(report, null, 2) + '\n'],
    ['manifest.json', JSON.stringify({ ...agg.manifest, tune: spec }, null, 2) + '\n'],
  ];
  for (const [name, text] of files) writeFileAtomic(join(dir, name), text);
  return { dir, files: files.map(([n]) => join(dir, n)), results, summary, report };
}
