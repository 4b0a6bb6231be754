import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError, show } from '../../core/errors.js';
import { plainTable } from '../../core/text-table.js';
import { worseThanInputs } from '../../experiments/input-baseline.js';
import { commandLine } from '../../experiments/manifest.js';
import { mergeExperiment } from '../../experiments/merge.js';
import { formatSummary, formatVerdicts } from '../../experiments/summary-text.js';
import { hasTune, runTuning } from '../../tuning/driver.js';
import { formatTuneSummary } from '../../tuning/text.js';
import type { GlobalArgs } from '../context.js';
import { experimentOptions, refuseOnlyForTune, selectionOptions, type ExperimentArgs } from '../experiment-args.js';

interface MergeArgs extends ExperimentArgs {
  partial: boolean;
  shards?: number;
  report: boolean;
}

const command: CommandModule<GlobalArgs, MergeArgs> = {
  command: 'merge <experiment>',
  describe: 'Build results.csv, summary.csv, the manifest and the report from the cells on disk (after sharded or cluster runs); lists missing cells',
  builder: (y) =>
    experimentOptions(y)
      .option('partial', { type: 'boolean', default: false, describe: 'exit 0 even when cells are missing (the tables hold the finished ones)' })
      .option('shards', {
        type: 'number',
        describe: 'the N of --shard I/N the cells ran with, to name the shard of each missing cell (default: from bench slurm / bench k8s)',
      })
      .option('report', { type: 'boolean', default: true, describe: 'build the report (--no-report to skip)' }),
  handler: async (args) => {
    const shards = args.shards;
    if (shards !== undefined && !(Number.isInteger(shards) && shards >= 1)) {
      throw new UserError(`--shards: ${show(shards)} is not allowed; expected an integer >= 1`);
    }
    if (hasTune(args.experiment)) {
      // A tuned experiment's cells are known only by replaying its search: when every trial and
      // test run is on disk, the tuning driver writes the outputs without training anything.
      refuseOnlyForTune(args);
      const { only: _only, ...sel } = selectionOptions(args);
      const plan = (await runTuning(args.experiment, { ...sel, plan: true })).plan!;
      if (plan.trialsDone < plan.trialsTotal || plan.testDone < plan.testCells) {
        process.stderr.write(
          `bench: ${args.experiment}: ${plan.trialsDone} of ${plan.trialsTotal} trial(s) and ${plan.testDone} of ${plan.testCells} test cell(s) finished; ` +
            `rerun the workers (bench run ${args.experiment} --shard …) to finish them\n`,
        );
        process.exitCode = 1;
        return;
      }
      const t = await runTuning(args.experiment, { ...sel, command: commandLine() });
      process.stdout.write(`${formatTuneSummary(t.outputs!.report)}\n\nresults: ${t.outputs!.files.join(', ')}\n`);
      if (args.report) {
        const { buildReport, buildReportIndex } = await import('../../report/build.js');
        const built = await buildReport(t.experiment.name, { resultsDir: args['results-dir'], reportsDir: args['reports-dir'], plugins: args.plugin });
        await buildReportIndex(args['reports-dir']);
        process.stdout.write(`report: ${built.indexPath}\n`);
      }
      return;
    }
    const r = await mergeExperiment(args.experiment, { ...selectionOptions(args), command: commandLine(), ...(shards ? { shards } : {}) });
    const name = r.experiment.name;
    const out: string[] = [`${name}: merged ${r.finished.length} of ${r.finished.length + r.pending.length} cell(s)`, ''];
    if (r.finished.length) {
      out.push(formatSummary(r.summary, r.experiment.swept), '');
      for (const w of worseThanInputs(r.summary, r.experiment.swept)) out.push(`warning: ${w}`);
    }
    out.push(`results: ${join(r.dir, 'results.csv')}, ${join(r.dir, 'summary.csv')}, ${join(r.dir, 'manifest.json')}`);
    if (r.claims.length) out.push('', formatVerdicts(r.claims));
    if (r.missing.length) {
      out.push('', `${r.missing.length} cell(s) missing:`);
      out.push(
        plainTable(
          ['cell', 'configuration', 'shard', 'status', 'log'],
          r.missing.map((m) => [m.id, m.label, m.shard === null ? '-' : String(m.shard), m.running ?? 'not finished', m.log ?? '-']),
        ),
      );
    }
    process.stdout.write(out.join('\n') + '\n');
    if (args.report && r.finished.length) {
      const { buildReport, buildReportIndex } = await import('../../report/build.js');
      const built = await buildReport(name, { resultsDir: args['results-dir'], reportsDir: args['reports-dir'], plugins: args.plugin });
      await buildReportIndex(args['reports-dir']);
      process.stdout.write(`report: ${built.indexPath}\n`);
    }
    if (r.missing.length && !args.partial) {
      process.stderr.write(
        `bench: ${name}: ${r.missing.length} cell(s) missing; rerun their shards (or the same bench run) to finish them, or pass --partial\n`,
      );
      process.exitCode = 1;
    }
  },
};

export default command;
