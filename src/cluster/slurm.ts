import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { UserError } from '../core/errors.js';
import type { ShardPlan } from '../experiments/merge.js';
import { shellQuote } from './worker-command.js';

export interface SlurmOptions {
  /** results/<experiment>/slurm (absolute). */
  dir: string;
  experiment: string;
  tasks: number;
  parallel: number;
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  /** Extra `#SBATCH` lines, each one sbatch option as typed (e.g. "--account=lab"). */
  sbatchArgs: string[];
  /** The working directory of the jobs (this command's). */
  cwd: string;
  /** The shell lines that run one array task and the merge. */
  workerLine: string;
  mergeLine: string;
}

export interface SlurmScripts {
  arrayPath: string;
  mergePath: string;
  logDir: string;
  array: string;
  merge: string;
}

function header(o: SlurmOptions, name: string, output: string): string[] {
  const lines = ['#!/bin/bash', `#SBATCH --job-name=${name}`, `#SBATCH --output=${output}`];
  if (o.partition) lines.push(`#SBATCH --partition=${o.partition}`);
  if (o.time) lines.push(`#SBATCH --time=${o.time}`);
  if (o.cpusPerTask) lines.push(`#SBATCH --cpus-per-task=${o.cpusPerTask}`);
  if (o.mem) lines.push(`#SBATCH --mem=${o.mem}`);
  for (const a of o.sbatchArgs) lines.push(`#SBATCH ${a}`);
  return lines;
}

/**
 * The two scripts, plain and editable: an array whose task i runs shard i of the cells, and a
 * merge. `exec` hands Slurm's SIGTERM (time limit, preemption, scancel) straight to the worker,
 * which drops its claim and leaves the cell to the next submission.
 */
export function slurmScripts(o: SlurmOptions): SlurmScripts {
  const logDir = join(o.dir, 'logs');
  const array = [
    ...header(o, `rankbench-${o.experiment}`, join(logDir, '%A_%a.out')),
    `# Submitted by bench slurm as: sbatch --parsable --array=0-${o.tasks - 1}%${o.parallel} ${join(o.dir, 'array.sbatch')}`,
    '# Each task runs its shard (SLURM_ARRAY_TASK_ID of the array) of the cells; finished cells are skipped.',
    'set -euo pipefail',
    `cd ${shellQuote(o.cwd)}`,
    `exec ${o.workerLine}`,
    '',
  ].join('\n');
  const merge = [
    ...header(o, `rankbench-${o.experiment}-merge`, join(logDir, 'merge_%j.out')),
    '# Runs after the array (afterany): results.csv, summary.csv, manifest, report; lists missing cells.',
    'set -euo pipefail',
    `cd ${shellQuote(o.cwd)}`,
    `exec ${o.mergeLine}`,
    '',
  ].join('\n');
  return { arrayPath: join(o.dir, 'array.sbatch'), mergePath: join(o.dir, 'merge.sbatch'), logDir, array, merge };
}

export function writeSlurmScripts(s: SlurmScripts): void {
  mkdirSync(s.logDir, { recursive: true });
  writeFileAtomic(s.arrayPath, s.array);
  writeFileAtomic(s.mergePath, s.merge);
}

/** The sbatch command lines, for --dry-run and for the record. */
export function submitCommands(s: SlurmScripts, o: Pick<SlurmOptions, 'tasks' | 'parallel'>): { array: string[]; merge: (arrayId: string) => string[] } {
  return {
    array: ['sbatch', '--parsable', `--array=0-${o.tasks - 1}%${o.parallel}`, s.arrayPath],
    merge: (id) => ['sbatch', '--parsable', `--dependency=afterany:${id}`, s.mergePath],
  };
}

function sbatch(argv: readonly string[]): string {
  try {
    const out = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // --parsable prints "<id>" or "<id>;<cluster>".
    const id = out.trim().split(';')[0]!;
    if (!/^\d+$/.test(id)) throw new UserError(`bench slurm: ${argv.join(' ')} printed ${JSON.stringify(out.trim())}, not a job id`);
    return id;
  } catch (e) {
    if (e instanceof UserError) throw e;
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new UserError('bench slurm: sbatch is not on PATH; run this on a Slurm login node, or use --dry-run to only write the scripts');
    const why = (err.stderr ?? err.message).toString().trim().split('\n').pop();
    throw new UserError(`bench slurm: ${argv.join(' ')} failed: ${why}`);
  }
}

/** Submits the array, then the merge after it; returns both job ids and the plan merge reads. */
export function submit(s: SlurmScripts, o: Pick<SlurmOptions, 'tasks' | 'parallel'>): { arrayId: string; mergeId: string; plan: ShardPlan } {
  const cmds = submitCommands(s, o);
  const arrayId = sbatch(cmds.array);
  const mergeId = sbatch(cmds.merge(arrayId));
  const plan: ShardPlan = { engine: 'slurm', tasks: o.tasks, jobId: arrayId, logPattern: join(s.logDir, `${arrayId}_{task}.out`) };
  return { arrayId, mergeId, plan };
}
