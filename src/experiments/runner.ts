import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { UserError } from '../core/errors.js';
import { selectBackend } from '../backend/index.js';
import { createLossRegistry } from '../losses/index.js';
import type { LossRegistry } from '../losses/registry.js';
import { evaluateClaims, type ClaimResult } from '../claims/evaluate.js';
import { writeClaimsCsv } from '../claims/output.js';
import { checkCellFits, loadDatasetCached, runCell } from './cell.js';
import { filterCells, loadExperiment } from './load.js';
import { commandLine, gitState, packageVersion, tfjsVersion, type Manifest } from './manifest.js';
import { runCellsInChildren, type CellHooks } from './pool.js';
import { cellLabel, defaultProgressMode, ProgressReporter, type ProgressMode } from './progress.js';
import { cellsDir, experimentDir, readCellResult, removeStaleTemps, writeCellResult } from './store.js';
import { resultsTable, summaryTable, toCsv, type Table } from './tables.js';
import type { Cell, CellResult, ResolvedExperiment } from './types.js';

export interface RunOptions {
  /** Where results/<experiment>/ goes (default "results"). */
  resultsDir?: string;
  /** Redo cells that already have a result file. */
  force?: boolean;
  /** Cells run in this many child processes (1 = in this process). */
  jobs?: number;
  /** `--only key=value` filters: key → accepted values. */
  only?: Record<string, string[]>;
  seeds?: number[];
  dataset?: string[];
  set?: Record<string, string>;
  backend?: string;
  plugins?: string[];
  dataDir?: string;
  progress?: ProgressMode;
  /** Where progress lines go (default stderr). */
  write?: (s: string) => void;
  /** The command recorded in the manifest (default: this process's argv). */
  command?: string;
}

export interface RunResult {
  experiment: ResolvedExperiment;
  /** results/<experiment>/ */
  dir: string;
  /** Every finished cell of the experiment, in cell order (run now or found from an earlier run). */
  cells: CellResult[];
  ran: string[];
  reused: string[];
  /** Cells of the experiment with no result (left out by --only and never run). */
  pending: string[];
  results: Table;
  summary: Table;
  manifest: Manifest;
  /** Verdicts of the experiment's claims (also in claims.csv). */
  claims: ClaimResult[];
}

/** Parses repeated `--only key=value` flags; a key given twice accepts either value. */
export function parseOnly(list: readonly string[] | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError(`--only: ${JSON.stringify(item)} is not key=value`);
    const key = item.slice(0, eq).trim();
    (out[key] ??= []).push(item.slice(eq + 1).trim());
  }
  return out;
}

async function buildRegistry(plugins: readonly string[]): Promise<LossRegistry> {
  const reg = createLossRegistry();
  for (const f of plugins) await reg.loadFile(f);
  return reg;
}

/**
 * Loads each dataset the cells to run need and checks that the sampler can form every cell's
 * batches, so that an impossible cell fails before hours of other cells have run.
 */
async function preflight(exp: ResolvedExperiment, cells: readonly Cell[], registry: LossRegistry, dataDir?: string): Promise<void> {
  for (const cell of cells) {
    const data = await loadDatasetCached(cell.config.dataset, cell.config.seed, dataDir);
    try {
      checkCellFits(cell.config, data, registry.get(cell.config.loss.name));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`${exp.file}: cell ${cell.id} (${cellLabel(cell)}): ${e.message}`);
    }
  }
}

async function runInProcess(cells: readonly Cell[], exp: ResolvedExperiment, registry: LossRegistry, opts: RunOptions, hooks: CellHooks, resultsDir: string): Promise<void> {
  for (const cell of cells) {
    hooks.onStart(0, cell);
    let result: CellResult;
    try {
      const ctx = { registry, onStep: (p: Parameters<CellHooks['onStep']>[1]) => hooks.onStep(0, p), ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}) };
      result = await runCell(cell, exp.name, ctx);
    } catch (e) {
      hooks.onFail?.(0, cell);
      if (e instanceof UserError) throw new UserError(`cell ${cell.id}: ${e.message}`);
      throw e;
    }
    writeCellResult(resultsDir, result);
    hooks.onDone(0, result);
  }
}

/**
 * Runs an experiment: loads and validates it, runs the cells that have no result yet (all with
 * `force`), and writes results.csv, summary.csv and manifest.json from every finished cell.
 * Returns the cell results so that other commands (e.g. `bench check`) can compare them.
 */
export async function runExperiment(fileOrName: string, opts: RunOptions = {}): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const resultsDir = opts.resultsDir ?? 'results';
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UserError(`--jobs: ${jobs} is not allowed; expected an integer >= 1`);
  const plugins = opts.plugins ?? [];
  const registry = await buildRegistry(plugins);
  const loadOpts = { registry, ...(opts.seeds ? { seeds: opts.seeds } : {}), ...(opts.dataset ? { dataset: opts.dataset } : {}), ...(opts.set ? { set: opts.set } : {}) };
  const { experiment: exp, cells } = loadExperiment(fileOrName, loadOpts);
  const selected = filterCells(cells, opts.only ?? {});
  const dir = experimentDir(resultsDir, exp.name);
  removeStaleTemps(cellsDir(resultsDir, exp.name));

  const todo = selected.filter((c) => opts.force || readCellResult(resultsDir, exp.name, c.id) === null);
  const reused = selected.filter((c) => !todo.includes(c)).map((c) => c.id);
  await preflight(exp, todo, registry, opts.dataDir);

  // Selected here even when children do the work: a bad or missing backend fails once, early.
  const backend = await selectBackend(opts.backend);
  const progress = new ProgressReporter(opts.progress ?? defaultProgressMode(), todo.length, opts.write);
  const hooks: CellHooks = {
    onStart: (slot, cell) => progress.cellStarted(slot, cell),
    onStep: (slot, p) => progress.step(slot, p),
    onDone: (slot, r) => progress.cellFinished(slot, r),
    onFail: (slot) => progress.cellFailed(slot),
  };
  try {
    if (jobs > 1 && todo.length > 1) {
      const init = { plugins, resultsDir, experiment: exp.name, ...(opts.backend ? { backend: opts.backend } : {}), ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}) };
      await runCellsInChildren(todo, jobs, init, hooks);
    } else {
      await runInProcess(todo, exp, registry, opts, hooks, resultsDir);
    }
  } finally {
    progress.end();
  }

  const finished: CellResult[] = [];
  const pending: string[] = [];
  for (const c of cells) {
    const r = readCellResult(resultsDir, exp.name, c.id);
    if (r) finished.push({ ...r, swept: c.swept });
    else pending.push(c.id);
  }
  const results = resultsTable(exp, finished);
  const summary = summaryTable(exp, finished);
  const git = gitState();
  const manifest: Manifest = {
    experiment: exp.name,
    file: exp.file,
    resolved: exp,
    swept: exp.swept,
    report: exp.report,
    packageVersion: packageVersion(),
    gitCommit: git.commit,
    gitDirty: git.dirty,
    node: process.version,
    tfjs: tfjsVersion(),
    backend,
    startedAt,
    finishedAt: new Date().toISOString(),
    command: opts.command ?? commandLine(),
    cells: { total: cells.length, finished: finished.length, ranNow: todo.length, reused: reused.length },
  };
  writeFileAtomic(join(dir, 'results.csv'), toCsv(results));
  writeFileAtomic(join(dir, 'summary.csv'), toCsv(summary));
  writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const claims = evaluateClaims(exp.claims ?? [], results.rows, exp.swept);
  writeClaimsCsv(dir, claims);
  return { experiment: exp, dir, cells: finished, ran: todo.map((c) => c.id), reused, pending, results, summary, manifest, claims };
}
