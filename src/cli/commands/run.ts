import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError, show } from '../../core/errors.js';
import { commandLine } from '../../experiments/manifest.js';
import { DEFAULT_CLAIM_TIMEOUT_MS } from '../../experiments/cell-claim.js';
import { worseThanInputs } from '../../experiments/input-baseline.js';
import { planRun, runExperiment } from '../../experiments/runner.js';
import { cellLabel } from '../../experiments/progress.js';
import { plainTable } from '../../core/text-table.js';
import { parseShard } from '../../experiments/shard.js';
import { formatSummary, formatVerdicts } from '../../experiments/summary-text.js';
import { buildReport, buildReportIndex } from '../../report/build.js';
import { hasTune, runTuning } from '../../tuning/driver.js';
import { formatTuneSummary } from '../../tuning/text.js';
import type { GlobalArgs } from '../context.js';
import { experimentOptions, refuseOnlyForTune, selectionOptions, type ExperimentArgs } from '../experiment-args.js';

interface RunArgs extends ExperimentArgs {
  force?: boolean;
  jobs?: number;
  report: boolean;
  shard?: string;
  'claim-timeout'?: number;
  plan: boolean;
}

/** Two cores are the common laptop and CI size; more jobs than cores only contend. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

const command: CommandModule<GlobalArgs, RunArgs> = {
  command: 'run <experiment>',
  describe: 'Run an experiment (a name in experiments/ or a .yaml path); finished cells are kept and skipped on a rerun',
  builder: (y) =>
    experimentOptions(y)
      .option('force', { type: 'boolean', describe: 'redo cells that already have a result' })
      .option('jobs', { type: 'number', describe: `cells in parallel child processes (default ${defaultJobs()})` })
      .option('report', { type: 'boolean', default: true, describe: 'build the report at the end (--no-report to skip)' })
      .option('shard', {
        type: 'string',
        describe:
          'run only part I/N of the cells (0-based), or "auto" from a Slurm array task or Kubernetes Indexed Job; then "bench merge" writes the results',
      })
      .option('plan', { type: 'boolean', default: false, describe: 'list the cells (id, configuration, done or to run) and run nothing' })
      .option('claim-timeout', {
        type: 'number',
        describe: `seconds after which another worker's untouched claim on a cell is taken over (default ${DEFAULT_CLAIM_TIMEOUT_MS / 1000})`,
      }),
  handler: async (args) => {
    const jobs = args.jobs ?? defaultJobs();
    const shard = args.shard === undefined ? undefined : parseShard(String(args.shard));
    const claimTimeout = args['claim-timeout'];
    if (claimTimeout !== undefined && !(Number.isFinite(claimTimeout) && claimTimeout > 0)) {
      throw new UserError(`--claim-timeout: ${show(claimTimeout)} is not allowed; expected a number of seconds > 0`);
    }
    if (shard) process.stderr.write(`shard ${shard.index}/${shard.count} (from ${shard.source})\n`);
    const opts = {
      ...selectionOptions(args),
      force: args.force ?? false,
      jobs,
      command: commandLine(),
      handleSignals: true,
      ...(shard ? { shard } : {}),
      ...(claimTimeout !== undefined ? { claimTimeoutMs: claimTimeout * 1000 } : {}),
    };
    if (args.plan && hasTune(args.experiment)) {
      const { only: _only, ...tuneOpts } = opts;
      const t = await runTuning(args.experiment, { ...tuneOpts, plan: true });
      const p = t.plan!;
      const losses = t.spec.losses.map((l) => `${l.name} (${l.dims.map((d) => d.key).join(', ') || 'nothing tuned'})`).join('; ');
      process.stdout.write(
        `${t.experiment.name}: tune ${losses}\n` +
          `${p.trialsDone} of ${p.trialsTotal} trial(s) finished (${t.spec.strategy}, ${t.spec.budget} per loss, ${p.cellsPerTrial} fold cells each), ` +
          `then ${p.testCells} test cell(s) (${p.testDone} done)\n`,
      );
      return;
    }
    if (args.plan) {
      const p = await planRun(args.experiment, opts);
      const done = new Set(p.reused);
      const rows = p.selected.map((c) => [c.id, cellLabel(c), done.has(c.id) ? 'done' : 'to run']);
      const lines = [
        `${p.experiment.name}: ${p.selected.length} cell(s), ${p.todo.length} to run, ${p.reused.length} done`,
        plainTable(['cell', 'configuration', 'status'], rows),
      ];
      for (const why of p.notReused) lines.push(why);
      process.stdout.write(lines.join('\n') + '\n');
      return;
    }
    const t0 = Date.now();
    if (hasTune(args.experiment)) {
      // An experiment with `tune:` is a fair comparison: tuning on validation folds, then test runs.
      refuseOnlyForTune(args);
      const { only: _only, ...tuneOpts } = opts;
      const t = await runTuning(args.experiment, tuneOpts);
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      process.stdout.write(`${t.experiment.name}: ${t.trials.length} trial(s) × ${t.spec.folds} folds, ${t.ran} cell(s) run, ${t.reused} reused, ${secs}s\n`);
      if (!t.outputs) {
        process.stdout.write(
          `${t.pendingTest} test cell(s) are another shard's; when every shard is done, run the same command without --shard to write the results\n`,
        );
        return;
      }
      process.stdout.write(`\n${formatTuneSummary(t.outputs.report)}\n\nresults: ${t.outputs.files.join(', ')}\n`);
      if (args.report) {
        const built = await buildReport(t.experiment.name, { resultsDir: args['results-dir'], reportsDir: args['reports-dir'], plugins: args.plugin });
        await buildReportIndex(args['reports-dir']);
        process.stdout.write(`report: ${built.indexPath}\n`);
      }
      return;
    }
    const r = await runExperiment(args.experiment, opts);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const elsewhere = r.elsewhere.length ? `, ${r.elsewhere.length} finished by another worker` : '';
    const head = `${r.experiment.name}: ${r.ran.length} cell(s) run, ${r.reused.length} reused from earlier runs${elsewhere}, ${secs}s`;
    if (shard) {
      process.stdout.write(
        `${head} (shard ${shard.index}/${shard.count}: ${r.cells.length} of its cells finished)\n` +
          `when every shard is done: bench merge ${args.experiment} --results-dir ${args['results-dir']}\n`,
      );
      return;
    }
    const out: string[] = [head, '', formatSummary(r.summary, r.experiment.swept), ''];
    for (const w of worseThanInputs(r.summary, r.experiment.swept)) out.push(`warning: ${w}`);
    out.push(`results: ${join(r.dir, 'results.csv')} (${r.cells.length} cells), ${join(r.dir, 'summary.csv')}, ${join(r.dir, 'manifest.json')}`);
    if (r.pending.length)
      out.push(`${r.pending.length} cell(s) of ${r.experiment.name} have no result yet (left out by --only); run again without --only to finish them`);
    if (r.claims.length) out.push('', formatVerdicts(r.claims));
    process.stdout.write(out.join('\n') + '\n');
    if (args.report) {
      const built = await buildReport(r.experiment.name, { resultsDir: args['results-dir'], reportsDir: args['reports-dir'], plugins: args.plugin });
      await buildReportIndex(args['reports-dir']);
      process.stdout.write(`report: ${built.indexPath}\n`);
    }
  },
};

export default command;
