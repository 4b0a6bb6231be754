/**
 * `bench slurm` against a real one-node Slurm (scripts/slurm-local.sh, started by .ci/run).
 * Where Slurm is not running these tests are skipped with the reason; under CI they must run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { tempDir, writeYaml } from '../experiments/helpers.js';
import { clusterExperiment, ranIds } from './fixture.js';

const CLI = resolve('dist/cli/main.js');
const localConf = resolve('.slurm/slurm.conf');
const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', ...(process.env.SLURM_CONF || !existsSync(localConf) ? {} : { SLURM_CONF: localConf }) };

function slurmState(): string | null {
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', env });
  if (r.error) return 'sinfo is not installed (scripts/slurm-local.sh start installs and starts a one-node Slurm)';
  if (r.status !== 0) return `sinfo failed: ${r.stderr.trim().split('\n').pop()} (start Slurm with scripts/slurm-local.sh start)`;
  return /idle|mixed|allocated/.test(r.stdout) ? null : `no node is up: ${r.stdout.trim()}`;
}

const why = slurmState();
if (why) process.stderr.write(`slurm tests skipped: ${why}\n`);

function bench(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
}

function submit(args: string[]): { arrayId: string; mergeId: string } {
  const r = bench(['slurm', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return { arrayId: /array job (\d+)/.exec(r.stdout)![1]!, mergeId: /merge job (\d+)/.exec(r.stdout)![1]! };
}

const queued = (ids: string[]): boolean => execFileSync('squeue', ['-h', '-j', ids.join(',')], { encoding: 'utf8', env }).trim() !== '';

async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const rowsOf = (file: string) =>
  (parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[])
    .map(({ trainMs: _t, ...rest }) => rest)
    .sort((a, b) => (a.cell! < b.cell! ? -1 : 1));

const cellFiles = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];

describe.skipIf(why !== null && !process.env.CI)('bench slurm on a real Slurm', () => {
  it('is running (CI must run these tests)', () => {
    expect(why).toBeNull();
  });

  it('an array of 4 tasks, 2 at a time, then the merge: results equal a plain local run', async () => {
    const dir = tempDir();
    const file = writeYaml(dir, 'arr', clusterExperiment(40));
    const t0 = Date.now();
    const { arrayId, mergeId } = submit([file, '--results-dir', join(dir, 'slurm'), '--tasks', '4', '--parallel', '2']);
    await waitUntil(() => !queued([arrayId, mergeId]), 300_000, 'the array and merge jobs');
    const slurmMs = Date.now() - t0;
    const logs = join(dir, 'slurm', 'arr', 'slurm', 'logs');
    expect(readdirSync(logs).sort()).toEqual([...[0, 1, 2, 3].map((i) => `${arrayId}_${i}.out`), `merge_${mergeId}.out`].sort());
    expect(readFileSync(join(logs, `merge_${mergeId}.out`), 'utf8')).toContain('arr: merged 6 of 6 cell(s)');
    const t1 = Date.now();
    const local = bench(['run', file, '--results-dir', join(dir, 'local'), '--no-report']);
    expect(local.status, local.stderr).toBe(0);
    process.stderr.write(`bench slurm (4 tasks, 2 at a time) ${(slurmMs / 1000).toFixed(1)}s vs plain bench run ${((Date.now() - t1) / 1000).toFixed(1)}s\n`);
    expect(rowsOf(join(dir, 'slurm', 'arr', 'results.csv'))).toEqual(rowsOf(join(dir, 'local', 'arr', 'results.csv')));
  }, 400_000);

  it('a task cancelled mid-cell: the merge names exactly the cells it did not finish; resubmitting runs only those', async () => {
    const dir = tempDir();
    const file = writeYaml(dir, 'cut', clusterExperiment(3000));
    const results = join(dir, 'r');
    const cells = join(results, 'cut', 'cells');
    const first = submit([file, '--results-dir', results, '--tasks', '2', '--parallel', '2']);
    // Task 0 is mid-cell once a claim of shard 0/2 exists.
    const claimOf0 = (): boolean =>
      existsSync(cells) && readdirSync(cells).some((f) => f.endsWith('.claim') && readFileSync(join(cells, f), 'utf8').includes('"shard":"0/2"'));
    await waitUntil(claimOf0, 240_000, 'task 0 to claim a cell');
    execFileSync('scancel', [`${first.arrayId}_0`], { env });
    await waitUntil(() => !queued([first.arrayId, first.mergeId]), 400_000, 'the rest of the array and the merge');
    const log = readFileSync(join(results, 'cut', 'slurm', 'logs', `merge_${first.mergeId}.out`), 'utf8');
    const listed = [...log.matchAll(/^([0-9a-f]{12})\s+synthetic .*?\s(\d)\s+not finished/gm)].map((m) => ({ id: m[1]!, shard: m[2]! }));
    const task0 = readFileSync(join(results, 'cut', 'slurm', 'logs', `${first.arrayId}_0.out`), 'utf8');
    expect(task0).toMatch(/stopped by SIGTERM/);
    const done = new Set(cellFiles(cells).map((f) => f.slice(0, -5)));
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.length + done.size).toBe(6);
    for (const m of listed) {
      expect(done.has(m.id)).toBe(false);
      expect(m.shard).toBe('0');
    }
    expect(readdirSync(cells).filter((f) => f.endsWith('.claim'))).toEqual([]);
    const before = new Map([...done].map((id) => [id, statSync(join(cells, `${id}.json`)).mtimeMs]));

    const second = submit([file, '--results-dir', results, '--tasks', '2', '--parallel', '2']);
    await waitUntil(() => !queued([second.arrayId, second.mergeId]), 400_000, 'the resubmission');
    const after = cellFiles(cells).map((f) => f.slice(0, -5));
    expect(after).toHaveLength(6);
    expect(after.filter((id) => !done.has(id)).sort()).toEqual(listed.map((m) => m.id).sort());
    for (const [id, mtime] of before) expect(statSync(join(cells, `${id}.json`)).mtimeMs).toBe(mtime);
    const logs2 = [0, 1].map((i) => readFileSync(join(results, 'cut', 'slurm', 'logs', `${second.arrayId}_${i}.out`), 'utf8')).join('\n');
    const ranAgain = ranIds(logs2).sort();
    expect(ranAgain).toEqual(listed.map((m) => m.id).sort());
  }, 900_000);

  it('two unsharded workers started together as jobs run each cell once', async () => {
    const dir = tempDir();
    const file = writeYaml(dir, 'two', clusterExperiment(40));
    const results = join(dir, 'r');
    const line = `${process.execPath} ${CLI} run ${file} --results-dir ${results} --jobs 1 --no-report`;
    const ids = [1, 2].map(
      (i) =>
        execFileSync('sbatch', ['--parsable', `--output=${join(dir, `w${i}.out`)}`, `--wrap=${line}`], { encoding: 'utf8', env })
          .trim()
          .split(';')[0]!,
    );
    await waitUntil(() => !queued(ids), 300_000, 'both workers');
    const ran = [1, 2].map((i) => ranIds(readFileSync(join(dir, `w${i}.out`), 'utf8')));
    expect(ran[0]!.filter((id) => ran[1]!.includes(id))).toEqual([]);
    expect(ran[0]!.length + ran[1]!.length).toBe(6);
    expect(cellFiles(join(results, 'two', 'cells'))).toHaveLength(6);
  }, 400_000);
});
