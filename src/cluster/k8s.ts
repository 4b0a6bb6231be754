import { stringify } from 'yaml';

export interface K8sOptions {
  experiment: string;
  image: string;
  /** Indexes (shards) and how many run at once. */
  tasks: number;
  parallel: number;
  pvc: string;
  /** Where the claim is mounted; the workers' --results-dir. */
  mountPath: string;
  /** The rankbench arguments after the command word, shared by the workers and the merge. */
  selection: string[];
  cpu?: string;
  memory?: string;
}

/** A Kubernetes object name: lower-case letters, digits and '-', at most 63 characters. */
export function k8sName(s: string): string {
  const n = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return n.slice(0, 63).replace(/-+$/, '') || 'rankbench';
}

function container(o: K8sOptions, name: string, args: string[], env: Array<{ name: string; value: string }>) {
  const c: Record<string, unknown> = {
    name,
    image: o.image,
    command: ['npx', '--no-install', 'rankbench'],
    args,
    env,
    volumeMounts: [{ name: 'results', mountPath: o.mountPath }],
  };
  if (o.cpu || o.memory) {
    const req: Record<string, string> = {};
    if (o.cpu) req.cpu = o.cpu;
    if (o.memory) req.memory = o.memory;
    c.resources = { requests: req, limits: req };
  }
  return c;
}

function job(o: K8sOptions, name: string, spec: Record<string, unknown>, c: Record<string, unknown>, restartPolicy: 'Never' | 'OnFailure') {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'app.kubernetes.io/name': 'rankbench', 'rankbench/experiment': k8sName(o.experiment) } },
    spec: {
      ...spec,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'rankbench', 'rankbench/experiment': k8sName(o.experiment) } },
        spec: {
          restartPolicy,
          containers: [c],
          volumes: [{ name: 'results', persistentVolumeClaim: { claimName: o.pvc } }],
        },
      },
    },
  };
}

/**
 * The Indexed Job whose pod i runs shard i (JOB_COMPLETION_INDEX, with the shard count in
 * RANKBENCH_SHARD_COUNT), and a merge Job. Kubernetes has no dependency between Jobs: the merge
 * exits non-zero while cells are missing and its pod is restarted (OnFailure, backing off), so
 * both can be applied at once and the merge lands after the last shard.
 */
export function k8sManifests(o: K8sOptions): { job: string; merge: string; names: { job: string; merge: string } } {
  const names = { job: k8sName(`rankbench-${o.experiment}`), merge: k8sName(`rankbench-${o.experiment}-merge`) };
  const worker = container(
    o,
    'worker',
    ['run', ...o.selection, '--shard', 'auto', '--jobs', '1', '--no-report'],
    [
      { name: 'RANKBENCH_SHARD_COUNT', value: String(o.tasks) },
      { name: 'CI', value: 'true' },
    ],
  );
  const indexed = job(
    o,
    names.job,
    // A failed pod is replaced by one with the same index; a preempted one resumes its shard.
    { completionMode: 'Indexed', completions: o.tasks, parallelism: o.parallel, backoffLimit: Math.max(6, 2 * o.tasks) },
    worker,
    'Never',
  );
  const merger = container(
    o,
    'merge',
    ['merge', ...o.selection, '--reports-dir', `${o.mountPath.replace(/\/$/, '')}/reports`],
    [{ name: 'CI', value: 'true' }],
  );
  const mergeJob = job(o, names.merge, { completions: 1, parallelism: 1, backoffLimit: 30 }, merger, 'OnFailure');
  return { job: stringify(indexed), merge: stringify(mergeJob), names };
}
