import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { clusterExperiment, ranIds } from './cluster/fixture.js';
import { tempDir, writeYaml } from './experiments/helpers.js';

const CLI = resolve('dist/cli/main.js');

/** Six cells of a few hundred steps: long enough to be caught mid-cell, short enough for CI. */

function bench(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env } });
}

function start(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, CI: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on('exit', (code) => r({ code, stdout, stderr })));
  return { child, done };
}

const rowsOf = (file: string) => (parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[]).map(({ trainMs: _t, ...rest }) => rest);

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('workers sharing one results folder', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'clus', clusterExperiment(40));

  it('two unsharded runs started together train each cell once, and both end with every result', async () => {
    const results = join(dir, 'shared');
    const a = start(['run', file, '--results-dir', results, '--jobs', '1', '--no-report']);
    const b = start(['run', file, '--results-dir', results, '--jobs', '1', '--no-report']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const ia = ranIds(ra.stderr);
    const ib = ranIds(rb.stderr);
    expect(ia.filter((id) => ib.includes(id))).toEqual([]);
    expect(ia.length + ib.length).toBe(6);
    expect(readdirSync(join(results, 'clus', 'cells')).filter((f) => f.endsWith('.json'))).toHaveLength(6);
    expect(readdirSync(join(results, 'clus', 'cells')).filter((f) => f.endsWith('.claim'))).toEqual([]);
    expect(rowsOf(join(results, 'clus', 'results.csv'))).toHaveLength(6);
  });

  it('shards split the cells; merge lists what is missing, then equals a plain run', () => {
    const plain = join(dir, 'plain');
    expect(bench(['run', file, '--results-dir', plain, '--no-report']).status).toBe(0);
    const sharded = join(dir, 'sharded');
    const s0 = bench(['run', file, '--results-dir', sharded, '--shard', '0/3', '--no-report']);
    expect(s0.status, s0.stderr).toBe(0);
    expect(s0.stderr).toContain('shard 0/3 (from --shard 0/3)');
    const m1 = bench(['merge', file, '--results-dir', sharded, '--shards', '3', '--no-report']);
    expect(m1.status).toBe(1);
    // Each missing cell is listed with the shard that owes it: never shard 0, which has run.
    const missing = [...m1.stdout.matchAll(/^([0-9a-f]{12})\s+synthetic .*?\s(\d)\s+not finished/gm)].map((m) => ({ id: m[1]!, shard: m[2]! }));
    expect(missing).toHaveLength(6 - ranIds(s0.stderr).length);
    expect(missing.filter((m) => ranIds(s0.stderr).includes(m.id))).toEqual([]);
    expect(new Set(missing.map((m) => m.shard))).toEqual(new Set(['1', '2']));
    expect(m1.stderr).toMatch(/cell\(s\) missing; .* or pass --partial/);
    expect(bench(['merge', file, '--results-dir', sharded, '--partial', '--no-report']).status).toBe(0);
    for (const i of [1, 2]) expect(bench(['run', file, '--results-dir', sharded, '--shard', `${i}/3`, '--no-report']).status).toBe(0);
    const m2 = bench(['merge', file, '--results-dir', sharded, '--no-report']);
    expect(m2.status, m2.stderr).toBe(0);
    const byCell = (rows: Record<string, string>[]) => rows.sort((x, y) => (x.cell! < y.cell! ? -1 : 1));
    expect(byCell(rowsOf(join(sharded, 'clus', 'results.csv')))).toEqual(byCell(rowsOf(join(plain, 'clus', 'results.csv'))));
  });

  it('a claim nobody refreshes is taken over after --claim-timeout', () => {
    const results = join(dir, 'stale');
    const cells = join(results, 'clus', 'cells');
    // Learn the ids, then plant a claim for one of them as if a worker had died holding it.
    expect(bench(['run', file, '--results-dir', results, '--only', 'seed=0', '--no-report']).status).toBe(0);
    const id = readdirSync(cells)
      .find((f) => f.endsWith('.json'))!
      .slice(0, -5);
    const r0 = bench(['run', file, '--results-dir', join(dir, 'ids'), '--no-report']);
    const all = ranIds(r0.stderr);
    const victim = all.find((x) => x !== id && !existsSync(join(cells, `${x}.json`)))!;
    writeFileSync(join(cells, `${victim}.claim`), JSON.stringify({ host: 'gone', pid: 1, token: 'x', startedAt: '2026-01-01T00:00:00Z' }));
    const r = bench(['run', file, '--results-dir', results, '--claim-timeout', '1', '--no-report']);
    expect(r.status, r.stderr).toBe(0);
    expect(ranIds(r.stderr)).toContain(victim);
    expect(existsSync(join(cells, `${victim}.json`))).toBe(true);
    expect(existsSync(join(cells, `${victim}.claim`))).toBe(false);
  });

  it('SIGTERM stops a run within seconds, keeps finished cells, drops its claims; the same command resumes', async () => {
    const slow = writeYaml(dir, 'slow', clusterExperiment(4000));
    const results = join(dir, 'term');
    const cells = join(results, 'slow', 'cells');
    const args = ['run', slow, '--results-dir', results, '--jobs', '2', '--no-report'];
    const run = start(args);
    await waitFor(() => existsSync(cells) && readdirSync(cells).some((f) => f.endsWith('.claim')), 60_000);
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/slow: stopped by SIGTERM: \d+ of 6 cell\(s\) finished and kept .* in progress dropped .*; resume with: bench run /);
    const left = readdirSync(cells);
    expect(left.filter((f) => f.endsWith('.claim') || f.startsWith('.tmp-'))).toEqual([]);
    const kept = left.filter((f) => f.endsWith('.json')).length;
    const again = bench([...args.slice(0, 2), '--set', 'train.iterations=4000', ...args.slice(2)]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${6 - kept} cell(s) run, ${kept} reused`);
  }, 240_000);
});

describe('bench slurm and bench k8s (no cluster needed)', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'clus', clusterExperiment(40));

  it('--dry-run prints both scripts with the exact bench commands and the sbatch lines', () => {
    const r = bench([
      'slurm',
      file,
      '--results-dir',
      join(dir, 'r'),
      '--tasks',
      '4',
      '--parallel',
      '2',
      '--partition',
      'gpu',
      '--time',
      '01:00:00',
      '--sbatch-arg=--account=lab',
      '--dry-run',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('#SBATCH --partition=gpu');
    expect(r.stdout).toContain('#SBATCH --account=lab');
    expect(r.stdout).toMatch(/exec \S+node\S* \S+main\.js run \S+clus\.yaml --results-dir \S+ --shard auto --jobs 1 --no-report/);
    expect(r.stdout).toMatch(/exec \S+ \S+main\.js merge \S+clus\.yaml/);
    expect(r.stdout).toMatch(/sbatch --parsable --array=0-3%2 \S+array\.sbatch\nsbatch --parsable --dependency=afterany:<array job id> \S+merge\.sbatch/);
    expect(existsSync(join(dir, 'r', 'clus', 'slurm'))).toBe(false);
  });

  it('without sbatch on PATH: one line saying so', () => {
    const r = bench(['slurm', file, '--results-dir', join(dir, 'r')], { PATH: '/nonexistent' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^bench: bench slurm: sbatch is not on PATH/)]);
  });

  // Two losses, 5 trials each, 2 folds. tpe with initial 3 and batch 1 runs the trials in rounds
  // {0,1,2}, {3}, {4}; random runs all 5 in one round (its proposals need no results).
  const tuned = (strategy: string, seeds: string) =>
    writeYaml(
      dir,
      `tuned-${strategy}`,
      `
base:
  dataset: { name: synthetic, params: { classes: 36, perClass: 4, dim: 12, superClasses: 3 } }
  train: { model: mlp, embeddingDim: 8, hidden: 16, iterations: 3, batchSize: 12, perClass: 2 }
  loss: { name: smooth-ap }
  eval: { k: [1] }
seeds: ${seeds}
tune:
  budget: 5
  strategy: ${strategy}
  initial: 3
  batch: 1
  folds: 2
  losses:
    smooth-ap: { loss.params.tau: { min: 0.001, max: 0.5, log: true } }
    fast-ap: { loss.params.bins: { min: 2, max: 20, log: true } }
`,
    );

  it('a tuned experiment gets one task per cell that can run at once: its widest round or its test cells', () => {
    const cases = [
      // Widest round: 2 losses × 3 trials × 2 folds = 12 cells; test: 2 losses × 2 seeds = 4.
      { file: tuned('tpe', '[0, 1]'), args: [], tasks: 12, round: 12, test: 4 },
      // 10 seeds: 2 × 10 = 20 test cells outnumber the round's 12.
      { file: tuned('tpe', '[0, 1]'), args: ['--seeds', '0,1,2,3,4,5,6,7,8,9'], tasks: 20, round: 12, test: 20 },
      // One round of all 2 × 5 trials × 2 folds = 20 cells.
      { file: tuned('random', '[0, 1]'), args: [], tasks: 20, round: 20, test: 4 },
    ];
    for (const c of cases) {
      const r = bench(['slurm', c.file, '--results-dir', join(dir, 't'), ...c.args, '--dry-run']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        `# up to ${c.round} tuning cell(s) per round (shared by every task) and ${c.test} test cell(s) (split between the tasks) in ${c.tasks} task(s)`,
      );
      expect(r.stdout).toContain(`--array=0-${c.tasks - 1}%${c.tasks} `);
      const k = bench(['k8s', c.file, '--results-dir', join(dir, 't'), '--image', 'x', ...c.args, '--dry-run']);
      expect(k.status, k.stderr).toBe(0);
      const job = parseYaml(k.stdout.split('---\n')[0]!);
      expect(job.spec).toMatchObject({ completions: c.tasks, parallelism: c.tasks });
      expect(job.spec.template.spec.containers[0].env).toContainEqual({ name: 'RANKBENCH_SHARD_COUNT', value: String(c.tasks) });
    }
    expect(existsSync(join(dir, 't'))).toBe(false);
  });

  it('a tuned experiment refuses --only in one line, as bench run does', () => {
    const r = bench(['slurm', tuned('tpe', '[0]'), '--only', 'seed=0', '--dry-run']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['bench: --only: not allowed for an experiment with tune (its cells are the trials the search proposes)']);
  });

  it('bench k8s writes an Indexed Job and a merge Job with batch/v1 Job fields', () => {
    const r = bench(['k8s', file, '--results-dir', join(dir, 'k'), '--image', 'registry.example/rb:1', '--parallel', '2', '--pvc', 'shared', '--cpu', '2']);
    expect(r.status, r.stderr).toBe(0);
    const job = parseYaml(readFileSync(join(dir, 'k', 'clus', 'k8s', 'job.yaml'), 'utf8'));
    const merge = parseYaml(readFileSync(join(dir, 'k', 'clus', 'k8s', 'merge-job.yaml'), 'utf8'));
    // Fields of batch/v1 Job, JobSpec, PodTemplateSpec, PodSpec and Container that a manifest may use here.
    const allowed: Record<string, string[]> = {
      job: ['apiVersion', 'kind', 'metadata', 'spec'],
      spec: ['completionMode', 'completions', 'parallelism', 'backoffLimit', 'template'],
      template: ['metadata', 'spec'],
      pod: ['restartPolicy', 'containers', 'volumes'],
      container: ['name', 'image', 'command', 'args', 'env', 'volumeMounts', 'resources'],
    };
    for (const j of [job, merge]) {
      expect(Object.keys(j).sort()).toEqual(allowed.job!.sort());
      expect(j.apiVersion).toBe('batch/v1');
      expect(j.kind).toBe('Job');
      expect(j.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      for (const k of Object.keys(j.spec)) expect(allowed.spec).toContain(k);
      const pod = j.spec.template.spec;
      for (const k of Object.keys(pod)) expect(allowed.pod).toContain(k);
      expect(['Never', 'OnFailure']).toContain(pod.restartPolicy);
      for (const k of Object.keys(pod.containers[0])) expect(allowed.container).toContain(k);
      expect(pod.containers[0].image).toBe('registry.example/rb:1');
      expect(pod.volumes).toEqual([{ name: 'results', persistentVolumeClaim: { claimName: 'shared' } }]);
      expect(pod.containers[0].volumeMounts).toEqual([{ name: 'results', mountPath: '/results' }]);
    }
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 6, parallelism: 2 });
    const worker = job.spec.template.spec.containers[0];
    expect(worker.args).toEqual(['run', file, '--results-dir', '/results', '--shard', 'auto', '--jobs', '1', '--no-report']);
    expect(worker.env).toContainEqual({ name: 'RANKBENCH_SHARD_COUNT', value: '6' });
    expect(worker.resources).toEqual({ requests: { cpu: '2' }, limits: { cpu: '2' } });
    expect(merge.spec.template.spec.containers[0].args.slice(0, 4)).toEqual(['merge', file, '--results-dir', '/results']);
  });
});
