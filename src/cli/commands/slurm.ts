import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { benchLine, selectionArgv } from '../../cluster/worker-command.js';
import { slurmScripts, submit, submitCommands, writeSlurmScripts } from '../../cluster/slurm.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { UserError, show } from '../../core/errors.js';
import { planPath } from '../../experiments/merge.js';
import { experimentDir } from '../../experiments/store.js';
import { asList, type GlobalArgs } from '../context.js';
import { clusterWork, experimentOptions, type ExperimentArgs } from '../experiment-args.js';

interface SlurmArgs extends ExperimentArgs {
  tasks?: number;
  parallel?: number;
  partition?: string;
  time?: string;
  'cpus-per-task'?: number;
  mem?: string;
  'sbatch-arg'?: string[];
  'dry-run': boolean;
  'claim-timeout'?: number;
}

function positiveInt(v: number | undefined, flag: string): number | undefined {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new UserError(`--${flag}: ${show(v)} is not allowed; expected an integer >= 1`);
  return v;
}

const command: CommandModule<GlobalArgs, SlurmArgs> = {
  command: 'slurm <experiment>',
  describe: 'Run an experiment on a Slurm cluster: writes array.sbatch and merge.sbatch, submits the array (one shard per task) and the merge after it',
  builder: (y) =>
    experimentOptions(y)
      .option('tasks', {
        type: 'number',
        describe: 'array tasks, each one shard of the cells (default: one per cell; with tune, one per cell that can run at once)',
      })
      .option('parallel', { type: 'number', describe: 'tasks running at once (%K of --array; default: all)' })
      .option('partition', { type: 'string', describe: 'Slurm partition' })
      .option('time', { type: 'string', describe: 'time limit per task, e.g. 02:00:00' })
      .option('cpus-per-task', { type: 'number', describe: 'CPUs per task (also the cells each task runs at once)' })
      .option('mem', { type: 'string', describe: 'memory per task, e.g. 8G' })
      .option('sbatch-arg', { type: 'string', array: true, describe: 'an extra sbatch option for both scripts, e.g. --sbatch-arg=--account=lab (repeatable)' })
      .option('claim-timeout', { type: 'number', describe: "seconds after which a dead task's claim on a cell is taken over" })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the scripts and the sbatch commands; submit nothing' }),
  handler: async (args) => {
    const work = await clusterWork(args);
    const tasks = positiveInt(args.tasks, 'tasks') ?? work.tasks;
    const parallel = Math.min(positiveInt(args.parallel, 'parallel') ?? tasks, tasks);
    const cpus = positiveInt(args['cpus-per-task'], 'cpus-per-task');
    const name = (await import('../../experiments/file.js')).experimentNameOf(args.experiment);
    const dir = resolve(experimentDir(args['results-dir'], name), 'slurm');
    const sel = selectionArgv(args);
    const timeout = args['claim-timeout'] === undefined ? [] : ['--claim-timeout', String(args['claim-timeout'])];
    const scripts = slurmScripts({
      dir,
      experiment: name,
      tasks,
      parallel,
      ...(args.partition ? { partition: args.partition } : {}),
      ...(args.time ? { time: args.time } : {}),
      ...(cpus ? { cpusPerTask: cpus } : {}),
      ...(args.mem ? { mem: args.mem } : {}),
      sbatchArgs: asList(args['sbatch-arg']) ?? [],
      cwd: process.cwd(),
      workerLine: benchLine('run', [...sel, '--shard', 'auto', '--jobs', String(cpus ?? 1), '--no-report', ...timeout]),
      mergeLine: benchLine('merge', [...sel, '--reports-dir', resolve(args['reports-dir'])]),
    });
    const cmds = submitCommands(scripts, { tasks, parallel });
    if (args['dry-run']) {
      process.stdout.write(
        `# ${scripts.arrayPath}\n${scripts.array}\n# ${scripts.mergePath}\n${scripts.merge}\n` +
          `# ${work.what} in ${tasks} task(s), ${parallel} at a time; would run:\n${cmds.array.join(' ')}\n${cmds.merge('<array job id>').join(' ')}\n`,
      );
      return;
    }
    writeSlurmScripts(scripts);
    const t0 = Date.now();
    const { arrayId, mergeId, plan } = submit(scripts, { tasks, parallel });
    writeFileAtomic(
      planPath(args['results-dir'], name, 'slurm'),
      JSON.stringify({ ...plan, mergeJobId: mergeId, submittedAt: new Date(t0).toISOString() }, null, 2) + '\n',
    );
    process.stdout.write(
      [
        `${name}: ${work.what} in ${tasks} array task(s), ${parallel} at a time`,
        `array job ${arrayId}: ${scripts.arrayPath}`,
        `merge job ${mergeId} (after the array): ${scripts.mergePath}`,
        `logs: ${scripts.logDir}/ (task i: ${arrayId}_i.out, merge: merge_${mergeId}.out)`,
        `watch: squeue -j ${arrayId},${mergeId}   then: ${join(experimentDir(args['results-dir'], name), 'results.csv')}`,
        '',
      ].join('\n'),
    );
  },
};

export default command;
