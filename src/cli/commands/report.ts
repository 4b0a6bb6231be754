import type { CommandModule } from 'yargs';
import { basename } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { GlobalArgs } from '../context.js';

type ReportArgs = GlobalArgs & {
  experiments: string[] | undefined;
  'results-dir': string;
  'reports-dir': string;
  png: boolean;
};

/** `bench report experiments/x.yaml` means experiment x, as `bench run` accepts either form. */
function experimentName(arg: string): string {
  return /\.ya?ml$/i.test(arg) ? basename(arg).replace(/\.ya?ml$/i, '') : arg;
}

const command: CommandModule<GlobalArgs, ReportArgs> = {
  command: 'report [experiments..]',
  describe: 'Build the charts and the self-contained HTML report of experiments from results/',
  builder: (y) =>
    y
      .positional('experiments', {
        type: 'string',
        array: true,
        describe: 'experiment names (default: every folder of --results-dir with a results.csv)',
      })
      .option('results-dir', { type: 'string', default: 'results', describe: 'where `bench run` wrote the results' })
      .option('reports-dir', { type: 'string', default: 'reports', describe: 'where to write the reports' })
      .option('png', { type: 'boolean', default: false, describe: 'also write a PNG of each chart' }),
  handler: async (args) => {
    // Loaded here: vega and vega-lite take half a second to import, which no other command should pay.
    const { buildReport, buildReportIndex, experimentsWithResults } = await import('../../report/build.js');
    const names = (args.experiments ?? []).map(experimentName);
    if (names.length === 0) {
      names.push(...experimentsWithResults(args['results-dir']));
      if (names.length === 0) {
        throw new UserError(`no results to report: no ${args['results-dir']}/<experiment>/results.csv (run \`bench run <experiment>\` first)`);
      }
    }
    for (const name of names) {
      const { indexPath, charts } = await buildReport(name, {
        resultsDir: args['results-dir'],
        reportsDir: args['reports-dir'],
        png: args.png,
        plugins: args.plugin,
      });
      process.stdout.write(`${name}: ${indexPath} (${charts.length} chart${charts.length === 1 ? '' : 's'})\n`);
    }
    process.stdout.write(`index: ${buildReportIndex(args['reports-dir'])}\n`);
  },
};

export default command;
