import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError, show } from '../../core/errors.js';
import { parseSetArgs } from '../../core/params.js';
import { commandLine } from '../../experiments/manifest.js';
import { parseOnly, runExperiment } from '../../experiments/runner.js';
import { formatSummary, formatVerdicts } from '../../experiments/summary-text.js';
import { buildReport, buildReportIndex } from '../../report/build.js';
import { asList, type GlobalArgs } from '../context.js';

interface RunArgs extends GlobalArgs {
  experiment: string;
  force?: boolean;
  jobs?: number;
  only?: string[];
  seeds?: string;
  dataset?: string;
  set?: string[];
  'results-dir': string;
  'reports-dir': string;
  'data-dir'?: string;
  report: boolean;
}

/** Two cores are the common laptop and CI size; more jobs than cores only contend. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

function parseSeeds(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v).split(',').map((s) => s.trim());
  const seeds = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (!seeds.length || seeds.some((s) => !Number.isSafeInteger(s) || s > 4294967295)) {
    throw new UserError(`--seeds: ${show(v)} is not allowed; expected comma-separated integers >= 0, e.g. 0,1,2`);
  }
  if (new Set(seeds).size !== seeds.length) throw new UserError(`--seeds: ${show(v)} repeats a seed; expected distinct seeds`);
  return seeds;
}

const command: CommandModule<GlobalArgs, RunArgs> = {
  command: 'run <experiment>',
  describe: 'Run an experiment (a name in experiments/ or a .yaml path); finished cells are kept and skipped on a rerun',
  builder: (y) =>
    y
      .positional('experiment', { type: 'string', demandOption: true, describe: 'experiment name (see bench list) or path to a .yaml file' })
      .option('force', { type: 'boolean', describe: 'redo cells that already have a result' })
      .option('jobs', { type: 'number', describe: `cells in parallel child processes (default ${defaultJobs()})` })
      .option('only', { type: 'string', array: true, describe: 'run only cells with key=value (repeatable; a key path, or dataset, loss, seed)' })
      .option('seeds', { type: 'string', describe: 'seeds to run, e.g. 0,1,2 (overrides the file)' })
      .option('dataset', { type: 'string', describe: 'dataset(s) to run on, comma-separated (overrides the file)' })
      .option('set', { type: 'string', array: true, describe: 'override a key path for every cell: key.path=value (repeatable)' })
      .option('results-dir', { type: 'string', default: 'results', describe: 'folder for results/<experiment>/' })
      .option('reports-dir', { type: 'string', default: 'reports', describe: 'folder for reports/<experiment>/' })
      .option('data-dir', { type: 'string', describe: 'folder file-backed datasets read from' })
      .option('report', { type: 'boolean', default: true, describe: 'build the report at the end (--no-report to skip)' }),
  handler: async (args) => {
    const jobs = args.jobs ?? defaultJobs();
    const datasets = args.dataset === undefined ? undefined : String(args.dataset).split(',').map((s) => s.trim()).filter(Boolean);
    if (datasets && datasets.length === 0) throw new UserError(`--dataset: ${show(args.dataset)} names no dataset`);
    const seeds = parseSeeds(args.seeds);
    const setArgs = asList(args.set);
    const opts = {
      resultsDir: args['results-dir'],
      force: args.force ?? false,
      jobs,
      only: parseOnly(asList(args.only)),
      command: commandLine(),
      ...(seeds ? { seeds } : {}),
      ...(datasets ? { dataset: datasets } : {}),
      ...(setArgs ? { set: parseSetArgs(setArgs) } : {}),
      ...(args.backend ? { backend: args.backend } : {}),
      ...(args.plugin ? { plugins: args.plugin } : {}),
      ...(args['data-dir'] !== undefined ? { dataDir: args['data-dir'] } : {}),
    };
    const t0 = Date.now();
    const r = await runExperiment(args.experiment, opts);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const out: string[] = [
      `${r.experiment.name}: ${r.ran.length} cell(s) run, ${r.reused.length} reused from earlier runs, ${secs}s`,
      '',
      formatSummary(r.summary, r.experiment.swept),
      '',
      `results: ${join(r.dir, 'results.csv')} (${r.cells.length} cells), ${join(r.dir, 'summary.csv')}, ${join(r.dir, 'manifest.json')}`,
    ];
    if (r.pending.length) out.push(`${r.pending.length} cell(s) of ${r.experiment.name} have no result yet (left out by --only); run again without --only to finish them`);
    if (r.claims.length) out.push('', formatVerdicts(r.claims));
    process.stdout.write(out.join('\n') + '\n');
    if (args.report) {
      const built = await buildReport(r.experiment.name, { resultsDir: args['results-dir'], reportsDir: args['reports-dir'] });
      await buildReportIndex(args['reports-dir']);
      process.stdout.write(`report: ${built.indexPath}\n`);
    }
  },
};

export default command;
