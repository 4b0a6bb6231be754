import { UserError, show } from '../core/errors.js';
import { selectBackend } from '../backend/index.js';
import { loadLossRegistry } from '../losses/index.js';
import { commandLine } from '../experiments/manifest.js';
import type { LossRegistry } from '../losses/registry.js';
import { canonicalJson, cellId } from '../experiments/canonical.js';
import { loadCellData, loadDatasetCached } from '../experiments/cell.js';
import { findExperimentFile, readExperimentYaml } from '../experiments/file.js';
import { DigestCache, identify } from '../experiments/inputs.js';
import { loadExperiment, type LoadedExperiment } from '../experiments/load.js';
import { runExperiment, type RunOptions } from '../experiments/runner.js';
import { readCellResult } from '../experiments/store.js';
import { cellMetric } from '../experiments/tables.js';
import type { Cell, CellResult, ResolvedExperiment } from '../experiments/types.js';
import { DEFAULT_TEST_SEEDS, readTuneSpec, roundBounds, type TuneSpec } from './spec.js';
import type { Point } from './space.js';
import { propose, trialRng, type Observation } from './strategies.js';
import { writeTuningOutputs, type TuningOutputs } from './outputs.js';
import { experimentLabel as label } from './has-tune.js';

export { hasTune } from './has-tune.js';

type Obj = Record<string, unknown>;

/** `bench run` options that a tuning run takes (it makes its own cells: no --only). */
export type TuneOptions = Omit<RunOptions, 'loaded' | 'writeAggregates' | 'only'> & {
  /** Validate everything and count what is done and what would run; run nothing (`bench run --plan`). */
  plan?: boolean;
  /** Called as each phase starts: the tuning rounds, then the test runs (for tests and progress). */
  onPhase?: (phase: 'tuning' | 'test') => void;
};

/** One (dataset, loss) pair: tuned on its own, with its own history of trials. */
export interface TuneGroup {
  /** Canonical JSON of the dataset configuration. */
  datasetKey: string;
  dataset: string;
  loss: string;
  tunedKeys: string[];
}

/** One trial: its proposed values and its fold cells' results (null until finished). */
export interface Trial {
  group: TuneGroup;
  trial: number;
  round: number;
  point: Point;
  cells: Cell[];
  results: Array<CellResult | null>;
  /** Mean of the objective over the folds; NaN until every fold has finished. */
  objective: number;
}

export interface TuneResult {
  experiment: ResolvedExperiment;
  spec: TuneSpec;
  trials: Trial[];
  /** Cells run now / reused from earlier runs, tuning and test together. */
  ran: number;
  reused: number;
  /** Test cells of the chosen configurations with no result yet (another shard's). */
  pendingTest: number;
  /** Written when every test cell is finished. */
  outputs: TuningOutputs | null;
  /** With `plan`: trials finished (replayed from the results folder) and to run, and the test runs to follow. */
  plan?: {
    trialsDone: number;
    trialsTotal: number;
    cellsPerTrial: number;
    /** Cells of the largest round: the most tuning cells that can run at once. */
    widestRound: number;
    testCells: number;
    testDone: number;
  };
}

/** The metric a trial is judged by, from a cell's retrieval metrics. */
export function objectiveValue(r: CellResult, objective: string): number {
  return cellMetric(r, objective) ?? NaN;
}

/**
 * Where a key of the experiment comes from, for messages: the dataset entry's own params, the
 * base's, or the dataset's default.
 */
function splitOrigin(top: Obj, datasetIndex: number | null, datasetName: string, fromCli: boolean): string {
  if (fromCli) return '--set dataset.params.split';
  const ds = Array.isArray(top.datasets) && datasetIndex !== null ? (top.datasets[datasetIndex] as Obj | undefined) : undefined;
  if (ds && typeof ds.params === 'object' && ds.params !== null && 'split' in (ds.params as Obj)) return `datasets[${datasetIndex}].params.split`;
  const base = (top.base as Obj | undefined)?.dataset as Obj | undefined;
  if (!ds && base && typeof base.params === 'object' && base.params !== null && 'split' in (base.params as Obj)) return 'base.dataset.params.split';
  return `${ds ? `datasets[${datasetIndex}]` : 'base.dataset'}.params.split (the default of dataset ${datasetName})`;
}

/**
 * Refuses an experiment whose tuning would read the test classes: a split that puts the test
 * classes in train (closed-set), checked on every dataset before anything runs.
 */
function refuseTestLeaks(file: string, top: Obj, loaded: LoadedExperiment, opts: TuneOptions): void {
  if (top.sweep !== undefined) {
    throw new UserError(`${file}: sweep: not allowed with tune; the compared losses and their search spaces are given in tune.losses`);
  }
  const entries = loaded.experiment.datasets;
  for (const cell of loaded.cells) {
    const split = cell.config.dataset.params['split'];
    if (split === undefined || split === 'class-disjoint') continue;
    const i = entries.findIndex((e) => e.name === cell.config.dataset.name);
    const at = splitOrigin(top, entries.length ? Math.max(0, i) : null, cell.config.dataset.name, opts.set?.['dataset.params.split'] !== undefined);
    throw new UserError(
      `${file}: ${at}: ${show(split)} puts the test classes in the train split, so tuning on train classes would read them; expected "class-disjoint"`,
    );
  }
}

/**
 * Tunes every loss of `tune.losses` under one budget on class-disjoint validation folds of the
 * train classes, then reruns each loss's best configuration on the test classes with several
 * seeds. Trials are ordinary cells (a validation field in their configuration), run through the
 * same runner: resumable, claimed, shared by any number of workers on one results folder. A
 * rerun recomputes every proposal from the finished trials (the strategies are pure functions of
 * the seed and the history), so it reuses every finished trial and continues after them.
 */
export async function runTuning(fileOrName: string, opts: TuneOptions = {}): Promise<TuneResult> {
  const startedAt = new Date().toISOString();
  const resultsDir = opts.resultsDir ?? 'results';
  const file = findExperimentFile(fileOrName);
  const fileLabel = label(file);
  const registry: LossRegistry = await loadLossRegistry(opts.plugins);
  const digests = DigestCache.forResults(resultsDir);
  const top = readExperimentYaml(file, fileLabel) as Obj;
  if (top?.tune === undefined) throw new UserError(`${fileLabel}: tune: missing; this experiment has nothing to tune (run it with bench run)`);
  const common = {
    registry,
    digests,
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
    ...(opts.dataset ? { dataset: opts.dataset } : {}),
  };
  const userSet = opts.set ?? {};
  const base = loadExperiment(file, { ...common, ...(opts.set ? { set: opts.set } : {}) });
  refuseTestLeaks(fileLabel, top, base, opts);
  const ks = [...new Set(base.cells.flatMap((c) => c.config.eval.k))].sort((a, b) => a - b);
  const spec = readTuneSpec(top.tune, fileLabel, registry, ks);
  const testSeeds = opts.seeds ?? (top.seeds === undefined ? DEFAULT_TEST_SEEDS : base.experiment.seeds);

  /** The cells of one loss with the given tuned values, one per dataset × seed, fully validated. */
  const cellsFor = (loss: string, point: Point, seeds: number[]): Cell[] => {
    const set: Record<string, string> = { ...userSet, 'loss.name': loss };
    for (const [k, v] of Object.entries(point)) set[k] = String(v);
    return loadExperiment(file, { ...common, seeds, set }).cells;
  };
  const datasetKeys = [...new Set(base.cells.map((c) => canonicalJson(c.config.dataset)))];
  const groups: TuneGroup[] = datasetKeys.flatMap((datasetKey) =>
    spec.losses.map((l) => ({
      datasetKey,
      dataset: (JSON.parse(datasetKey) as { name: string }).name,
      loss: l.name,
      tunedKeys: l.dims.map((d) => d.key),
    })),
  );
  const dimsOf = (loss: string) => spec.losses.find((l) => l.name === loss)!.dims;
  const groupName = (g: TuneGroup): string => `${g.datasetKey}|${g.loss}`;

  const validationCells = (cell: Cell, trial: number, point: Point): Cell[] =>
    Array.from({ length: spec.folds }, (_, fold) => {
      // No AP estimate on validation: it samples batches of the evaluated split and is no objective.
      const evalSpec = { ...cell.config.eval, estimateBatches: 0 };
      // The dataset's query/gallery marking is of test rows: a fold of train classes has none, so
      // its classes are evaluated leave-one-out.
      if (evalSpec.protocol === 'query-gallery') delete evalSpec.protocol;
      const config = { ...cell.config, validation: { folds: spec.folds, fold, seed: spec.seed }, eval: evalSpec };
      // swept only labels the cell in progress lines and its file; tuning.csv is written from the trials.
      return { id: identify(config, cell.inputs), configId: cellId(config), inputs: cell.inputs, config, swept: { trial, fold, ...point } };
    });

  const { onPhase: _onPhase, shard: _shard, plan: _plan, ...passOn } = opts;
  const runOpts: RunOptions = { ...passOn, resultsDir, writeAggregates: false };
  let ran = 0;
  let reused = 0;
  const isDone = (c: Cell): boolean => readCellResult(resultsDir, base.experiment.name, c.id) !== null;
  const runCells = async (exp: ResolvedExperiment, cells: Cell[], extra: Partial<RunOptions> = {}): Promise<void> => {
    const unique = [...new Map(cells.map((c) => [c.id, c])).values()];
    if (!opts.force && unique.every(isDone)) {
      reused += unique.length;
      return;
    }
    await preflightFolds(unique, fileLabel, opts.dataDir, base.experiment.baseDir);
    const r = await runExperiment(file, { ...runOpts, ...extra, loaded: { experiment: exp, cells: unique } });
    ran += r.ran.length;
    reused += r.reused.length + r.elsewhere.length;
  };

  const trials: Trial[] = [];
  opts.onPhase?.('tuning');
  const rounds = roundBounds(spec);
  for (const [round, [start, end]] of rounds.entries()) {
    const roundTrials: Trial[] = [];
    for (const g of groups) {
      const history: Observation[] = trials.filter((t) => t.group === g).map((t) => ({ point: t.point, objective: t.objective }));
      for (let t = start; t < end; t++) {
        const point = propose(spec.strategy, dimsOf(g.loss), history, trialRng(spec.seed, groupName(g), t), { initial: spec.initial });
        const cell = cellsFor(g.loss, point, [spec.seed]).find((c) => canonicalJson(c.config.dataset) === g.datasetKey)!;
        roundTrials.push({ group: g, trial: t, round, point, cells: validationCells(cell, t, point), results: [], objective: NaN });
      }
    }
    // A plan replays the rounds whose cells are all on disk: later proposals depend on results not yet there.
    if (opts.plan && !roundTrials.every((t) => t.cells.every(isDone))) break;
    await runCells(
      base.experiment,
      roundTrials.flatMap((t) => t.cells),
    );
    for (const t of roundTrials) {
      t.results = t.cells.map((c) => readCellResult(resultsDir, base.experiment.name, c.id));
      const values = t.results.map((r) => (r ? objectiveValue(r, spec.objective) : NaN));
      t.objective = values.length && values.every((v) => Number.isFinite(v)) ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
      trials.push(t);
    }
  }

  // The chosen configuration of each group: the best mean validation objective, the earliest
  // trial on a tie. Then its test runs, one per seed, with per-class metrics.
  const tunedKeys = [...new Set(spec.losses.flatMap((l) => l.dims.map((d) => d.key)))];
  const testExp: ResolvedExperiment = { ...base.experiment, seeds: testSeeds, swept: ['run', ...tunedKeys] };
  const chosen = groups.flatMap((g) => {
    const own = trials.filter((t) => t.group === g && Number.isFinite(t.objective));
    if (own.length === 0 && opts.plan) return [];
    if (own.length === 0) throw new UserError(`${fileLabel}: ${g.loss} on ${g.dataset}: no trial has a finite validation ${spec.objective}; nothing to choose`);
    const best = own.reduce((a, b) => (b.objective > a.objective ? b : a));
    const cells = cellsFor(g.loss, best.point, testSeeds)
      .filter((c) => canonicalJson(c.config.dataset) === g.datasetKey)
      .map((c) => {
        const config = { ...c.config, eval: { ...c.config.eval, classReport: true } };
        const swept: Cell['swept'] = { run: 'test' };
        for (const k of tunedKeys) swept[k] = k in best.point ? best.point[k]! : null;
        return { id: identify(config, c.inputs), configId: cellId(config), inputs: c.inputs, config, swept };
      });
    return [{ group: g, best, cells }];
  });
  const testCells = chosen.flatMap((c) => c.cells);
  if (opts.plan) {
    const complete = trials.length === groups.length * spec.budget;
    const plan = {
      trialsDone: trials.length,
      trialsTotal: groups.length * spec.budget,
      cellsPerTrial: spec.folds,
      widestRound: groups.length * spec.folds * Math.max(...rounds.map(([start, end]) => end - start)),
      testCells: groups.length * testSeeds.length,
      testDone: complete ? testCells.filter(isDone).length : 0,
    };
    return { experiment: testExp, spec, trials, ran: 0, reused: 0, pendingTest: plan.testCells - plan.testDone, outputs: null, plan };
  }
  opts.onPhase?.('test');
  await runCells(testExp, testCells, opts.shard ? { shard: opts.shard } : {});
  const pendingTest = testCells.filter((c) => !isDone(c)).length;
  const backend = await selectBackend(opts.backend);
  const command = opts.command ?? commandLine();
  const outputs =
    pendingTest === 0 ? writeTuningOutputs({ resultsDir, experiment: testExp, spec, trials, chosen, tunedKeys, backend, startedAt, command }) : null;
  return { experiment: testExp, spec, trials, ran, reused, pendingTest, outputs };
}

/**
 * Each fold view must be able to form the cell's batches (enough classes for B/P on the other
 * folds' classes): fail before any training, naming the fold and the cause.
 */
async function preflightFolds(cells: readonly Cell[], file: string, dataDir: string | undefined, baseDir: string): Promise<void> {
  const seen = new Set<string>();
  for (const cell of cells) {
    const v = cell.config.validation;
    if (!v) continue;
    const key = canonicalJson({ d: cell.config.dataset, v, t: cell.config.train });
    if (seen.has(key)) continue;
    seen.add(key);
    // A split given by the user's own file (features) is what it is, whatever the parameters say.
    const data = await loadDatasetCached(cell.config.dataset, cell.config.seed, { dataDir, baseDir });
    if (data.splitKind !== 'class-disjoint') {
      throw new UserError(
        `${file}: dataset ${data.name}: its split is ${data.splitKind} (test classes also in train), so tuning would read the test classes; expected a class-disjoint split`,
      );
    }
    try {
      await loadCellData(cell.config, { dataDir, baseDir });
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${file}: tune.folds: ${e.message}`);
      throw e;
    }
  }
}
