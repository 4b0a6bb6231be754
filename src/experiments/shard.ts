import { UserError, show } from '../core/errors.js';
import type { Cell } from './types.js';

/** One of N disjoint parts of an experiment's cells (0-based index). */
export interface Shard {
  index: number;
  count: number;
  /** Where I and N came from, for the log ("--shard 2/8", "SLURM_ARRAY_TASK_ID=2 …"). */
  source: string;
}

/**
 * A cell's expected cost in arbitrary units: training is steps × batch (the loss is at least
 * linear in B and the model's matmuls are), plus a fixed part for loading and evaluating.
 */
export function cellCost(cell: Cell): number {
  const t = cell.config.train;
  return t.iterations * t.batchSize + 5_000;
}

/**
 * Assigns every cell to one of `count` shards, balancing expected cost: the costliest cells are
 * placed first, each on the least-loaded shard (ties to the lower index). The order is fixed by
 * cost then id, so every worker computes the same assignment from the same cells.
 */
export function assignShards(cells: readonly Cell[], count: number): Map<string, number> {
  const order = [...cells].sort((a, b) => cellCost(b) - cellCost(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const out = new Map<string, number>();
  for (const c of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s]! < load[best]!) best = s;
    load[best]! += cellCost(c);
    out.set(c.id, best);
  }
  return out;
}

export function cellsOfShard(cells: readonly Cell[], shard: Shard): Cell[] {
  const where = assignShards(cells, shard.count);
  return cells.filter((c) => where.get(c.id) === shard.index);
}

function int(v: string | undefined): number | null {
  return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : null;
}

/**
 * `--shard I/N`, or `--shard auto` from the environment: a Slurm array task
 * (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or with _MIN and _MAX) or a Kubernetes Indexed
 * Job (JOB_COMPLETION_INDEX, with N in RANKBENCH_SHARD_COUNT, which `bench k8s` sets).
 */
export function parseShard(spec: string, env: NodeJS.ProcessEnv = process.env): Shard {
  if (spec === 'auto') return shardFromEnv(env);
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new UserError(`--shard: ${show(spec)} is not allowed; expected I/N (0 <= I < N, e.g. 0/4) or auto`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new UserError(`--shard: ${show(spec)} is not allowed; expected 0 <= I < N and N >= 1`);
  return { index, count, source: `--shard ${spec}` };
}

function shardFromEnv(env: NodeJS.ProcessEnv): Shard {
  const id = int(env.SLURM_ARRAY_TASK_ID);
  if (id !== null) {
    const min = int(env.SLURM_ARRAY_TASK_MIN) ?? 0;
    const max = int(env.SLURM_ARRAY_TASK_MAX);
    const step = int(env.SLURM_ARRAY_TASK_STEP) ?? 1;
    const count = int(env.SLURM_ARRAY_TASK_COUNT) ?? (max !== null ? Math.floor((max - min) / step) + 1 : null);
    if (count === null) throw new UserError('--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is');
    const index = Math.floor((id - min) / step);
    if (index < 0 || index >= count) throw new UserError(`--shard auto: SLURM_ARRAY_TASK_ID=${id} is outside the array (${count} tasks from ${min})`);
    return { index, count, source: `SLURM_ARRAY_TASK_ID=${id} of ${count} tasks (SLURM_ARRAY_TASK_MIN=${min})` };
  }
  const k = int(env.JOB_COMPLETION_INDEX);
  if (k !== null) {
    const count = int(env.RANKBENCH_SHARD_COUNT);
    if (count === null || count < 1) {
      throw new UserError(
        "--shard auto: JOB_COMPLETION_INDEX is set but RANKBENCH_SHARD_COUNT (the number of indexes) is not; set it to the Job's completions",
      );
    }
    if (k >= count) throw new UserError(`--shard auto: JOB_COMPLETION_INDEX=${k} is not below RANKBENCH_SHARD_COUNT=${count}`);
    return { index: k, count, source: `JOB_COMPLETION_INDEX=${k} of RANKBENCH_SHARD_COUNT=${count}` };
  }
  throw new UserError(
    '--shard auto: no array task found; expected SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), or give --shard I/N',
  );
}
