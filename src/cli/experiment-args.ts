import type { Argv } from 'yargs';
import { UserError, show } from '../core/errors.js';
import { parseSetArgs } from '../core/params.js';
import { parseOnly } from '../experiments/runner.js';
import { asList, type GlobalArgs } from './context.js';

/** The flags that choose an experiment's cells and folders, shared by run, merge, slurm and k8s. */
export interface ExperimentArgs extends GlobalArgs {
  experiment: string;
  only?: string[];
  seeds?: string;
  dataset?: string;
  set?: string[];
  'results-dir': string;
  'reports-dir': string;
  'data-dir'?: string;
}

export function experimentOptions<T>(y: Argv<T>) {
  return y
    .positional('experiment', { type: 'string', demandOption: true, describe: 'experiment name (see bench list) or path to a .yaml file' })
    .option('only', { type: 'string', array: true, describe: 'only cells with key=value (repeatable; a key path, or dataset, loss, seed)' })
    .option('seeds', { type: 'string', describe: 'seeds to run, e.g. 0,1,2 (overrides the file)' })
    .option('dataset', { type: 'string', describe: 'dataset(s) to run on, comma-separated (overrides the file)' })
    .option('set', { type: 'string', array: true, describe: 'override a key path for every cell: key.path=value (repeatable)' })
    .option('results-dir', { type: 'string', default: 'results', describe: 'folder for results/<experiment>/' })
    .option('reports-dir', { type: 'string', default: 'reports', describe: 'folder for reports/<experiment>/' })
    .option('data-dir', { type: 'string', describe: 'folder file-backed datasets read from' });
}

function parseSeeds(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v)
    .split(',')
    .map((s) => s.trim());
  const seeds = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (!seeds.length || seeds.some((s) => !Number.isSafeInteger(s) || s > 4294967295)) {
    throw new UserError(`--seeds: ${show(v)} is not allowed; expected comma-separated integers >= 0, e.g. 0,1,2`);
  }
  if (new Set(seeds).size !== seeds.length) throw new UserError(`--seeds: ${show(v)} repeats a seed; expected distinct seeds`);
  return seeds;
}

/** The run options these flags mean (cells, inputs and folders; not how to run them). */
export function selectionOptions(args: ExperimentArgs) {
  const datasets =
    args.dataset === undefined
      ? undefined
      : String(args.dataset)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  if (datasets && datasets.length === 0) throw new UserError(`--dataset: ${show(args.dataset)} names no dataset`);
  const seeds = parseSeeds(args.seeds);
  const setArgs = asList(args.set);
  return {
    resultsDir: args['results-dir'],
    only: parseOnly(asList(args.only)),
    ...(seeds ? { seeds } : {}),
    ...(datasets ? { dataset: datasets } : {}),
    ...(setArgs ? { set: parseSetArgs(setArgs) } : {}),
    ...(args.backend ? { backend: args.backend } : {}),
    ...(args.plugin ? { plugins: args.plugin } : {}),
    ...(args['data-dir'] !== undefined ? { dataDir: args['data-dir'] } : {}),
  };
}

/** A tuned experiment's cells are the trials its search proposes: --only cannot name them. */
export function refuseOnlyForTune(args: ExperimentArgs): void {
  if (asList(args.only)?.length) throw new UserError('--only: not allowed for an experiment with tune (its cells are the trials the search proposes)');
}

/** What the workers of a cluster job share: the default number of tasks and how to say it. */
export interface ClusterWork {
  /** The most cells that can run at once: more tasks than this only wait. */
  tasks: number;
  /** For the summary line, before "in N task(s)". */
  what: string;
}

/**
 * The work the flags select (loads and validates the experiment, runs nothing). A plain
 * experiment's cells are all known and independent: one task per cell. A tuned one runs in
 * rounds that every task works through together, each round's cells shared through claims
 * (a round needs the results of the one before), then its test cells, split by shard: the most
 * that can run at once is the larger of the widest round and the test cells.
 */
export async function clusterWork(args: ExperimentArgs): Promise<ClusterWork> {
  const { hasTune, runTuning } = await import('../tuning/driver.js');
  if (hasTune(args.experiment)) {
    refuseOnlyForTune(args);
    const { only: _only, ...sel } = selectionOptions(args);
    const plan = (await runTuning(args.experiment, { ...sel, plan: true })).plan!;
    return {
      tasks: Math.max(plan.widestRound, plan.testCells),
      what: `up to ${plan.widestRound} tuning cell(s) per round (shared by every task) and ${plan.testCells} test cell(s) (split between the tasks)`,
    };
  }
  const { loadExperiment, filterCells } = await import('../experiments/load.js');
  const { loadLossRegistry } = await import('../losses/index.js');
  const opts = selectionOptions(args);
  const { cells } = loadExperiment(args.experiment, { registry: await loadLossRegistry(opts.plugins), ...opts });
  const n = filterCells(cells, opts.only).length;
  return { tasks: n, what: `${n} cell(s)` };
}
