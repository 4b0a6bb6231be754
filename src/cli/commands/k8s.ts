import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { k8sManifests } from '../../cluster/k8s.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { UserError, show } from '../../core/errors.js';
import { experimentNameOf } from '../../experiments/file.js';
import { planPath, type ShardPlan } from '../../experiments/merge.js';
import { experimentDir } from '../../experiments/store.js';
import { selectionArgv } from '../../cluster/worker-command.js';
import type { GlobalArgs } from '../context.js';
import { clusterWork, experimentOptions, type ExperimentArgs } from '../experiment-args.js';

interface K8sArgs extends ExperimentArgs {
  image: string;
  parallel?: number;
  tasks?: number;
  pvc: string;
  'mount-path': string;
  cpu?: string;
  memory?: string;
  'dry-run': boolean;
}

const command: CommandModule<GlobalArgs, K8sArgs> = {
  command: 'k8s <experiment>',
  describe: 'Write a Kubernetes Indexed Job (one shard per index, results on a shared volume claim) and a merge Job for an experiment',
  builder: (y) =>
    experimentOptions(y)
      .option('image', { type: 'string', demandOption: true, describe: 'container image with rankbench installed (npx rankbench) and the experiment files' })
      .option('tasks', {
        type: 'number',
        describe: 'indexes, each one shard of the cells (default: one per cell; with tune, one per cell that can run at once)',
      })
      .option('parallel', { type: 'number', describe: 'pods running at once (default: all)' })
      .option('pvc', { type: 'string', default: 'rankbench-results', describe: 'PersistentVolumeClaim (ReadWriteMany) that holds the results folder' })
      .option('mount-path', { type: 'string', default: '/results', describe: 'where the claim is mounted in the pods (their --results-dir)' })
      .option('cpu', { type: 'string', describe: 'CPU request and limit per pod, e.g. 2' })
      .option('memory', { type: 'string', describe: 'memory request and limit per pod, e.g. 4Gi' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the manifests; write nothing' }),
  handler: async (args) => {
    const int = (v: number | undefined, flag: string): number | undefined => {
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new UserError(`--${flag}: ${show(v)} is not allowed; expected an integer >= 1`);
      return v;
    };
    if (!args['mount-path'].startsWith('/')) throw new UserError(`--mount-path: ${show(args['mount-path'])} is not allowed; expected an absolute path`);
    const work = await clusterWork(args);
    const tasks = int(args.tasks, 'tasks') ?? work.tasks;
    const parallel = Math.min(int(args.parallel, 'parallel') ?? tasks, tasks);
    const name = experimentNameOf(args.experiment);
    // Paths inside the pod are the image's: the experiment and plugins as given, the results on the claim.
    const selection = selectionArgv(args, { resultsDir: args['mount-path'] });
    const m = k8sManifests({
      experiment: name,
      image: args.image,
      tasks,
      parallel,
      pvc: args.pvc,
      mountPath: args['mount-path'],
      selection,
      ...(args.cpu ? { cpu: args.cpu } : {}),
      ...(args.memory ? { memory: args.memory } : {}),
    });
    if (args['dry-run']) {
      process.stdout.write(`${m.job}---\n${m.merge}`);
      return;
    }
    const dir = resolve(experimentDir(args['results-dir'], name), 'k8s');
    writeFileAtomic(join(dir, 'job.yaml'), m.job);
    writeFileAtomic(join(dir, 'merge-job.yaml'), m.merge);
    const plan: ShardPlan = { engine: 'k8s', tasks, logPattern: `kubectl logs -l job-name=${m.names.job},batch.kubernetes.io/job-completion-index={task}` };
    writeFileAtomic(planPath(args['results-dir'], name, 'k8s'), JSON.stringify(plan, null, 2) + '\n');
    process.stdout.write(
      [
        `${name}: ${work.what} in ${tasks} index(es), ${parallel} at a time, results on claim ${args.pvc} at ${args['mount-path']}`,
        `wrote ${join(dir, 'job.yaml')} and ${join(dir, 'merge-job.yaml')}`,
        `submit: kubectl apply -f ${join(dir, 'job.yaml')} -f ${join(dir, 'merge-job.yaml')}`,
        `watch:  kubectl get job ${m.names.job} ${m.names.merge}; kubectl logs job/${m.names.merge}`,
        '',
      ].join('\n'),
    );
  },
};

export default command;
