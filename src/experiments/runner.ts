import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { UserError } from '../core/errors.js';
import { selectBackend } from '../backend/index.js';
import { loadLossRegistry } from '../losses/index.js';
import type { LossRegistry } from '../losses/registry.js';
import { cellId } from './canonical.js';
import { evaluateClaims, type ClaimResult } from '../claims/evaluate.js';
import { writeClaimsCsv } from '../claims/output.js';
import { checkCellFits, loadCellData, runCell } from './cell.js';
import { ClaimSet, DEFAULT_CLAIM_TIMEOUT_MS } from './cell-claim.js';
import { DigestCache, inputChanges } from './inputs.js';
import { filterCells, loadExperiment, type LoadedExperiment } from './load.js';
import { contractContext, parseTable } from './contract.js';
import { commandLine, gitState, packageVersion, tfjsVersion, type Manifest } from './manifest.js';
import { runCellsInChildren, type CellHooks, type PoolControl } from './pool.js';
import { cellLabel, defaultProgressMode, ProgressReporter, type ProgressMode } from './progress.js';
import { cellsOfShard, type Shard } from './shard.js';
import { hasTune } from '../tuning/has-tune.js';
import { cellPath, cellsDir, experimentDir, readAllCellResults, readCellResult, removeStaleTemps, writeCellResult } from './store.js';
import { resultsTable, summaryTable, toCsv, type Table } from './tables.js';
import type { Cell, CellInputs, CellResult, ResolvedExperiment } from './types.js';

/** Exit status of a run stopped by SIGTERM or SIGINT: nothing is lost, the same command resumes. */
export const EXIT_INTERRUPTED = 75;

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
  /** Run only this part of the cells; the aggregate files are then left to `bench merge`. */
  shard?: Shard;
  /** A claim untouched for this long belongs to a dead worker and is taken over. */
  claimTimeoutMs?: number;
  /**
   * Stop on SIGTERM/SIGINT: drop this worker's claims, say what was kept and exit with
   * EXIT_INTERRUPTED. For the CLI; a library caller keeps its own signal handling.
   */
  handleSignals?: boolean;
  /**
   * Run these cells instead of loading `fileOrName` (a driver that makes its own from
   * loadExperiment's, e.g. tuning). They run as given: the loader is what validates a configuration.
   */
  loaded?: LoadedExperiment;
  /** false: leave results.csv, summary.csv and manifest.json unwritten (the caller writes its own). */
  writeAggregates?: boolean;
}

export interface RunResult {
  experiment: ResolvedExperiment;
  /** results/<experiment>/ */
  dir: string;
  /** Every finished cell of the experiment, in cell order (run now or found from an earlier run). */
  cells: CellResult[];
  ran: string[];
  reused: string[];
  /** Cells of the experiment with no result (left out by --only or --shard, or never run). */
  pending: string[];
  /** Cells of this run that another worker finished while it ran. */
  elsewhere: string[];
  /** Why earlier results of the same configurations were not reused: one line per reason. */
  notReused: string[];
  /** For a sharded run: of the shard's cells, and not written (`bench merge` writes them). */
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

/**
 * Loads each dataset the cells to run need and checks that the sampler can form every cell's
 * batches, so that an impossible cell fails before hours of other cells have run.
 */
async function preflight(exp: ResolvedExperiment, cells: readonly Cell[], registry: LossRegistry, dataDir?: string): Promise<void> {
  for (const cell of cells) {
    const data = await loadCellData(cell.config, { dataDir, baseDir: exp.baseDir });
    try {
      checkCellFits(cell.config, data, registry.get(cell.config.loss.name));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`${exp.file}: cell ${cell.id} (${cellLabel(cell)}): ${e.message}`);
    }
  }
}

/**
 * Earlier results of the same configuration on other inputs, and why each was not reused:
 * "data file x.npy changed since …" — a changed input must never pass silently as a stale
 * reuse, nor silently as a fresh run.
 */
export function explainNotReused(todo: readonly Cell[], earlier: readonly CellResult[]): string[] {
  const latest = new Map<string, CellResult>();
  for (const r of earlier) {
    const key = r.configId ?? cellId(r.config);
    const prev = latest.get(key);
    if (!prev || prev.finishedAt < r.finishedAt) latest.set(key, r);
  }
  const counts = new Map<string, number>();
  for (const cell of todo) {
    const old = latest.get(cell.configId);
    if (!old || old.id === cell.id) continue;
    for (const why of inputChanges(old.inputs, cell.inputs, old.finishedAt)) counts.set(why, (counts.get(why) ?? 0) + 1);
  }
  return [...counts].map(([why, n]) => `${n} earlier result(s) not reused: ${why}`);
}

/**
 * Hands out cells to run, each claimed first. A cell another worker holds is passed over and
 * retried later; the source waits (polling) until such cells are finished elsewhere or their
 * claim goes stale and is taken over, so that every caller ends with all its cells done.
 */
class ClaimingSource {
  private readonly pending: Cell[];
  readonly elsewhere: string[] = [];
  private stopped = false;

  constructor(
    cells: readonly Cell[],
    private readonly claims: ClaimSet,
    private readonly isDone: (cell: Cell) => boolean,
    private readonly onElsewhere: (cell: Cell) => void,
    private readonly pollMs: number,
  ) {
    this.pending = [...cells];
  }

  stop(): void {
    this.stopped = true;
  }

  private takenElsewhere(cell: Cell): void {
    this.elsewhere.push(cell.id);
    this.onElsewhere(cell);
  }

  next = async (): Promise<Cell | null> => {
    for (;;) {
      if (this.stopped) return null;
      for (let i = 0; i < this.pending.length; i++) {
        const cell = this.pending[i]!;
        if (this.isDone(cell)) {
          this.pending.splice(i--, 1);
          this.takenElsewhere(cell);
          continue;
        }
        if (!this.claims.tryClaim(cell.id)) continue;
        this.pending.splice(i--, 1);
        // Finished by someone else between the check and the claim: nothing to do.
        if (this.isDone(cell)) {
          this.claims.release(cell.id);
          this.takenElsewhere(cell);
          continue;
        }
        return cell;
      }
      if (this.pending.length === 0) return null;
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  };
}

async function runInProcess(
  next: () => Promise<Cell | null>,
  exp: ResolvedExperiment,
  registry: LossRegistry,
  opts: RunOptions,
  hooks: CellHooks,
  resultsDir: string,
): Promise<void> {
  for (let cell = await next(); cell; cell = await next()) {
    hooks.onStart(0, cell);
    let result: CellResult;
    try {
      const ctx = {
        registry,
        baseDir: exp.baseDir,
        onStep: (p: Parameters<CellHooks['onStep']>[1]) => hooks.onStep(0, p),
        ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      };
      result = await runCell(cell, exp.name, ctx);
    } catch (e) {
      hooks.onFail?.(0, cell);
      if (e instanceof UserError) throw new UserError(`cell ${cell.id}: ${e.message}`);
      throw e;
    }
    writeCellResult(resultsDir, result, { replace: opts.force === true });
    hooks.onDone(0, result);
  }
}

/** Removes this process's half-written temp files (a signal can land between write and rename). */
function removeOwnTemps(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.startsWith('.tmp-') && f.includes(`-${process.pid}-`)) rmSync(join(dir, f), { force: true });
}

/** Every input of the finished cells, for the manifest: what the numbers were computed from. */
function manifestInputs(cells: readonly CellResult[]): {
  rankbench: string[];
  data: Record<string, string>;
  plugins: Record<string, CellInputs['plugins'][string]>;
} {
  const versions = new Set<string>();
  const data: Record<string, string> = {};
  const plugins: Record<string, CellInputs['plugins'][string]> = {};
  for (const c of cells) {
    if (!c.inputs) continue;
    versions.add(c.inputs.rankbench);
    Object.assign(data, c.inputs.data);
    Object.assign(plugins, c.inputs.plugins);
  }
  return { rankbench: [...versions].sort(), data, plugins };
}

export interface Aggregates {
  finished: CellResult[];
  pending: string[];
  results: Table;
  summary: Table;
  manifest: Manifest;
  /** The experiment's claims, answered from the finished cells. */
  claims: ClaimResult[];
}

/**
 * results.csv, summary.csv and manifest.json from the cells on disk whose ids the experiment
 * has now: cells of other inputs (other ids) are never mixed in.
 */
export function writeAggregates(exp: ResolvedExperiment, cells: readonly Cell[], resultsDir: string, run: RunFacts): Aggregates {
  const agg = aggregate(exp, cells, resultsDir, run);
  const dir = experimentDir(resultsDir, exp.name);
  writeFileAtomic(join(dir, 'results.csv'), toCsv(agg.results));
  writeFileAtomic(join(dir, 'summary.csv'), toCsv(agg.summary));
  writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(agg.manifest, null, 2) + '\n');
  writeClaimsCsv(dir, agg.claims);
  return agg;
}

export interface RunFacts {
  backend: string;
  startedAt: string;
  command: string;
  ranNow: number;
  reused: number;
}

/** The aggregate tables and manifest of the given cells, as found on disk. */
export function aggregate(exp: ResolvedExperiment, cells: readonly Cell[], resultsDir: string, run: RunFacts): Aggregates {
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
    backend: run.backend,
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
    command: run.command,
    cells: { total: cells.length, finished: finished.length, ranNow: run.ranNow, reused: run.reused },
    inputs: manifestInputs(finished),
  };
  // The claims read the rows as the report does: typed by the results contract.
  const claims = evaluateClaims(exp.claims ?? [], parseTable(results, `results.csv of ${exp.name}`, contractContext(exp)).rows, exp.swept);
  return { finished, pending, results, summary, manifest, claims };
}

/** What a run would do: the experiment, its cells, and which of them run now. */
export interface RunPlan {
  registry: LossRegistry;
  experiment: ResolvedExperiment;
  /** Every cell of the experiment. */
  cells: Cell[];
  /** The cells this run is responsible for (after --only and --shard). */
  selected: Cell[];
  todo: Cell[];
  reused: string[];
  notReused: string[];
}

/** Loads and validates an experiment and works out which cells have results already. Runs nothing. */
export async function planRun(fileOrName: string, opts: RunOptions = {}): Promise<RunPlan> {
  const resultsDir = opts.resultsDir ?? 'results';
  const registry = await loadLossRegistry(opts.plugins);
  const digests = DigestCache.forResults(resultsDir);
  const loadOpts = {
    registry,
    digests,
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
    ...(opts.seeds ? { seeds: opts.seeds } : {}),
    ...(opts.dataset ? { dataset: opts.dataset } : {}),
    ...(opts.set ? { set: opts.set } : {}),
  };
  const { experiment, cells } = opts.loaded ?? loadExperiment(fileOrName, loadOpts);
  digests.save();
  const filtered = filterCells(cells, opts.only ?? {});
  const selected = opts.shard ? cellsOfShard(filtered, opts.shard) : filtered;
  const todo = selected.filter((c) => opts.force || readCellResult(resultsDir, experiment.name, c.id) === null);
  const reused = selected.filter((c) => !todo.includes(c)).map((c) => c.id);
  // Reading every cell file is only worth it when some cell is about to be (re)made.
  const notReused = opts.force || todo.length === 0 ? [] : explainNotReused(todo, readAllCellResults(resultsDir, experiment.name));
  return { registry, experiment, cells, selected, todo, reused, notReused };
}

/**
 * Runs an experiment: loads and validates it, runs the cells that have no result yet (all with
 * `force`), and writes results.csv, summary.csv and manifest.json from every finished cell.
 * Any number of runs may share one results folder at once: each cell is claimed before it runs,
 * so every cell is trained once. Returns the cell results so that other commands (e.g.
 * `bench check`) can compare them.
 */
export async function runExperiment(fileOrName: string, opts: RunOptions = {}): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const resultsDir = opts.resultsDir ?? 'results';
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UserError(`--jobs: ${jobs} is not allowed; expected an integer >= 1`);
  const plugins = opts.plugins ?? [];
  if (!opts.loaded && hasTune(fileOrName)) {
    // Its base cells alone would overwrite the tuned results with an untuned run.
    throw new UserError(`experiment ${fileOrName} has tune: run it with runTuning (bench run does), not runExperiment`);
  }
  const { registry, experiment: exp, cells, selected, todo, reused, notReused } = await planRun(fileOrName, opts);
  const dir = experimentDir(resultsDir, exp.name);
  const cdir = cellsDir(resultsDir, exp.name);
  removeStaleTemps(cdir);
  const write = opts.write ?? ((s: string) => void process.stderr.write(s));
  if ((opts.progress ?? defaultProgressMode()) !== 'none') for (const line of notReused) write(`${exp.name}: ${line}\n`);
  await preflight(exp, todo, registry, opts.dataDir);

  // Selected here even when children do the work: a bad or missing backend fails once, early.
  const backend = await selectBackend(opts.backend);
  const progress = new ProgressReporter(opts.progress ?? defaultProgressMode(), todo.length, write);
  const timeoutMs = opts.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
  const claims = new ClaimSet(cdir, timeoutMs, opts.shard ? `${opts.shard.index}/${opts.shard.count}` : undefined);
  // With --force a cell counts as done once a result newer than this run's start is on disk.
  const isDone = (cell: Cell): boolean => {
    if (!opts.force) return readCellResult(resultsDir, exp.name, cell.id) !== null;
    try {
      return statSync(cellPath(resultsDir, exp.name, cell.id)).mtimeMs >= t0;
    } catch {
      return false;
    }
  };
  const source = new ClaimingSource(todo, claims, isDone, () => progress.cellTakenElsewhere(), Math.max(50, Math.min(1000, timeoutMs / 4)));
  const ranNow: string[] = [];
  const hooks: CellHooks = {
    onStart: (slot, cell) => progress.cellStarted(slot, cell),
    onStep: (slot, p) => progress.step(slot, p),
    onDone: (slot, r) => {
      claims.release(r.id);
      ranNow.push(r.id);
      progress.cellFinished(slot, r);
    },
    onFail: (slot, cell) => {
      claims.release(cell.id);
      progress.cellFailed(slot);
    },
  };

  let pool: PoolControl | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    source.stop();
    pool?.kill();
    const dropped = claims.heldIds();
    claims.releaseAll();
    removeOwnTemps(cdir);
    progress.end();
    const kept = selected.filter((c) => readCellResult(resultsDir, exp.name, c.id) !== null).length;
    write(
      `${exp.name}: stopped by ${signal}: ${kept} of ${selected.length} cell(s) finished and kept (${ranNow.length} in this run), ` +
        `${dropped.length} in progress dropped (${dropped.join(', ') || 'none'}); resume with: ${opts.command ?? commandLine()}\n`,
    );
    process.exit(EXIT_INTERRUPTED);
  };
  if (opts.handleSignals) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  try {
    const parallel = Math.min(jobs, todo.length);
    if (parallel > 1) {
      const init = {
        plugins,
        resultsDir,
        experiment: exp.name,
        baseDir: exp.baseDir,
        replace: opts.force === true,
        ...(opts.backend ? { backend: opts.backend } : {}),
        ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      };
      await runCellsInChildren(source.next, parallel, init, hooks, (c) => (pool = c));
    } else {
      await runInProcess(source.next, exp, registry, opts, hooks, resultsDir);
    }
  } finally {
    claims.releaseAll();
    progress.end();
    if (opts.handleSignals) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  }

  const facts: RunFacts = { backend, startedAt, command: opts.command ?? commandLine(), ranNow: ranNow.length, reused: reused.length };
  const agg = opts.shard || opts.writeAggregates === false ? aggregate(exp, selected, resultsDir, facts) : writeAggregates(exp, cells, resultsDir, facts);
  const base = { experiment: exp, dir, ran: ranNow, reused, elsewhere: source.elsewhere, notReused };
  return { ...base, cells: agg.finished, pending: agg.pending, results: agg.results, summary: agg.summary, manifest: agg.manifest, claims: agg.claims };
}
