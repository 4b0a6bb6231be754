import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClaimSet } from './cell-claim.js';
import { commandLine } from './manifest.js';
import { cellLabel } from './progress.js';
import { planRun, writeAggregates, type Aggregates, type RunOptions } from './runner.js';
import { assignShards } from './shard.js';
import { cellsDir, experimentDir } from './store.js';
import type { ResolvedExperiment } from './types.js';

/**
 * How a cluster submission split the cells: written by `bench slurm` / `bench k8s` beside the
 * results, so that a merge can say which task (and which log) owed a missing cell.
 */
export interface ShardPlan {
  engine: 'slurm' | 'k8s';
  tasks: number;
  /** Log file of task i: the pattern with {task} replaced. */
  logPattern?: string;
  jobId?: string;
}

export function planPath(resultsDir: string, experiment: string, engine: ShardPlan['engine']): string {
  return join(experimentDir(resultsDir, experiment), engine, 'plan.json');
}

/**
 * A plan.json's contents, or null when it is not one (damaged or edited): the plan only lets a
 * merge name the task and log that owed a missing cell, so a bad one is ignored, not fatal.
 */
export function parsePlan(text: string): ShardPlan | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const optionalText = (x: unknown) => x === undefined || typeof x === 'string';
  if (o.engine !== 'slurm' && o.engine !== 'k8s') return null;
  if (typeof o.tasks !== 'number' || !Number.isInteger(o.tasks) || o.tasks < 1) return null;
  if (!optionalText(o.logPattern) || !optionalText(o.jobId)) return null;
  return {
    engine: o.engine,
    tasks: o.tasks,
    ...(o.logPattern !== undefined ? { logPattern: o.logPattern as string } : {}),
    ...(o.jobId !== undefined ? { jobId: o.jobId as string } : {}),
  };
}

function readPlan(resultsDir: string, experiment: string): ShardPlan | null {
  for (const engine of ['slurm', 'k8s'] as const) {
    const p = planPath(resultsDir, experiment, engine);
    if (existsSync(p)) return parsePlan(readFileSync(p, 'utf8'));
  }
  return null;
}

export interface MissingCell {
  id: string;
  label: string;
  shard: number | null;
  log: string | null;
  /** Who is running it now, when a live claim exists. */
  running: string | null;
}

export interface MergeResult extends Aggregates {
  experiment: ResolvedExperiment;
  dir: string;
  missing: MissingCell[];
  plan: ShardPlan | null;
}

/**
 * Builds results.csv, summary.csv and manifest.json from the cells on disk, as a run does at its
 * end, and lists each cell without a result with the shard and log that owed it.
 */
export async function mergeExperiment(fileOrName: string, opts: Omit<RunOptions, 'jobs' | 'force' | 'shard'> & { shards?: number } = {}): Promise<MergeResult> {
  const resultsDir = opts.resultsDir ?? 'results';
  const { experiment: exp, cells, selected } = await planRun(fileOrName, opts);
  const agg = writeAggregates(exp, cells, resultsDir, {
    backend: 'merged',
    startedAt: new Date().toISOString(),
    command: opts.command ?? commandLine(),
    ranNow: 0,
    reused: 0,
  });
  const plan = readPlan(resultsDir, exp.name);
  const tasks = opts.shards ?? plan?.tasks;
  const shardOf = tasks ? assignShards(selected, tasks) : null;
  const claims = new ClaimSet(cellsDir(resultsDir, exp.name));
  const missingIds = new Set(agg.pending);
  const missing: MissingCell[] = selected
    .filter((c) => missingIds.has(c.id))
    .map((c) => {
      const shard = shardOf?.get(c.id) ?? null;
      const st = claims.state(c.id);
      const running = st.kind === 'live' ? `claimed by ${st.info?.host ?? '?'} pid ${st.info?.pid ?? '?'}, touched ${Math.round(st.ageMs / 1000)}s ago` : null;
      const log = shard !== null && plan?.logPattern ? plan.logPattern.replace('{task}', String(shard)) : null;
      return { id: c.id, label: cellLabel(c), shard, log, running };
    });
  return { ...agg, experiment: exp, dir: experimentDir(resultsDir, exp.name), missing, plan };
}
