import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { inputDifferences, readBaseline, writeBaseline, baselinePaths } from '../../check/baseline.js';
import { pinnedClaims, unansweredPins, type PinRow } from '../../check/claims.js';
import { cellKey, compareRuns, failed, trackedMetrics, type CheckRow, type Row } from '../../check/compare.js';
import { UserError } from '../../core/errors.js';
import { plainTable } from '../../core/text-table.js';
import { parseSetArgs } from '../../core/params.js';
import { contractContext, lossSpecsOf, parseTable } from '../../experiments/contract.js';
import { commandLine } from '../../experiments/manifest.js';
import { runExperiment } from '../../experiments/runner.js';
import { asList, lossRegistry, type GlobalArgs } from '../context.js';

interface CheckArgs extends GlobalArgs {
  experiments?: string[];
  update?: boolean;
  'baseline-dir': string;
  set?: string | string[];
  jobs?: number;
}

const fmt = (v: number | null): string => (v === null ? '-' : Number.isNaN(v) ? 'NaN' : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(6) : v.toExponential(2));

function table(rows: readonly CheckRow[]): string {
  const head = ['cell', 'metric', 'baseline', 'now', 'difference', 'tolerance', 'verdict'];
  const body = rows.map((r) => [r.cell, r.metric, fmt(r.baseline), fmt(r.now), fmt(r.diff), fmt(r.tolerance), r.verdict]);
  return plainTable(head, body);
}

function pinTable(rows: readonly PinRow[]): string {
  return plainTable(
    ['claim', 'dataset', 'pinned', 'now', 'verdict', 'evidence'],
    rows.map((r) => [r.claim, r.dataset, r.pinned, r.now, r.ok ? 'ok' : 'FLIPPED', r.detail]),
  );
}

/** Checks the experiment's pinned claim verdicts; prints them and returns whether any failed. */
function checkPins(run: Awaited<ReturnType<typeof runExperiment>>): boolean {
  const name = run.experiment.name;
  const pins = pinnedClaims(run.claims);
  const missing = unansweredPins(
    (run.experiment.claims ?? []).filter((c) => c.pin !== undefined).map((c) => c.text),
    run.claims,
  );
  if (pins.length === 0 && missing.length === 0) return false;
  const bad = pins.filter((p) => !p.ok);
  process.stdout.write(`${name}: ${pins.length - bad.length}/${pins.length} pinned claim verdicts unchanged\n${pinTable(pins)}\n`);
  for (const p of bad)
    process.stdout.write(`${name}: FAILED: pinned claim "${p.claim}" on ${p.dataset} is now "${p.now}", pinned "${p.pinned}" (${p.detail})\n`);
  for (const t of missing) process.stdout.write(`${name}: FAILED: pinned claim "${t}" was not answered: no cell of the run matches it\n`);
  return bad.length + missing.length > 0;
}

const command: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check [experiments..]',
  describe: 'Rerun the deterministic `ci` experiment (and any named one) and compare every tracked metric with the committed baseline',
  builder: (y) =>
    y
      .positional('experiments', { type: 'string', array: true, describe: 'experiments to check besides ci' })
      .option('update', { type: 'boolean', describe: 'rewrite the baseline from this run (on purpose) and say what changed' })
      .option('baseline-dir', { type: 'string', default: join('results', 'baseline'), describe: 'folder of <experiment>.csv baselines' })
      .option('set', { type: 'string', describe: 'override a key path for every cell (repeatable), e.g. to try a change' })
      .option('jobs', { type: 'number', default: 1, describe: 'cells in parallel child processes' }),
  handler: async (args) => {
    const names = [...new Set(['ci', ...(args.experiments ?? [])])];
    const setList = asList(args.set);
    // Never compare stale cells from an earlier run: every check recomputes in a scratch folder.
    const scratch = mkdtempSync(join(tmpdir(), 'rankbench-check-'));
    let anyFailed = false;
    // The baseline and this run's rows are both read with the results contract, so they compare as typed values.
    const losses = lossSpecsOf((await lossRegistry(args)).all());
    try {
      for (const name of names) {
        if (!args.update) readBaseline(args['baseline-dir'], name, { losses }); // fail fast, before minutes of training
        const run = await runExperiment(name, {
          resultsDir: scratch,
          force: true,
          jobs: args.jobs ?? 1,
          progress: 'none',
          command: commandLine(),
          ...(setList ? { set: parseSetArgs(setList) } : {}),
          ...(args.backend ? { backend: args.backend } : {}),
          ...(args.plugin ? { plugins: args.plugin } : {}),
        });
        const exp = run.experiment;
        const ctx = contractContext(exp, losses);
        const current = parseTable(run.results, `results.csv of this run of ${exp.name}`, ctx).rows;
        const metrics = trackedMetrics(run.results.columns, exp.swept);
        const key = (row: Row): string => cellKey(row, exp.swept);
        if (args.update) {
          let before: string;
          try {
            const old = readBaseline(args['baseline-dir'], exp.name, ctx);
            const changes = failed(compareRuns(old.rows, current, metrics, exp.tolerances, key));
            before = changes.length ? `${changes.length} change(s) past tolerance:\n${table(changes)}` : 'no change past tolerance';
          } catch (e) {
            if (!(e instanceof UserError)) throw e;
            before = 'new baseline';
          }
          writeBaseline(args['baseline-dir'], exp.name, run.results, run.manifest);
          process.stdout.write(
            `${exp.name}: baseline ${baselinePaths(args['baseline-dir'], exp.name).csv} updated (${run.results.rows.length} cells): ${before}\n`,
          );
          // A pin is part of the experiment file, not of the baseline: --update does not move it.
          anyFailed = checkPins(run) || anyFailed;
          continue;
        }
        const baseline = readBaseline(args['baseline-dir'], exp.name, ctx);
        const changedInputs = inputDifferences(args['baseline-dir'], exp.name, run.manifest.inputs);
        if (changedInputs.length) {
          process.stdout.write(`${exp.name}: FAILED: the inputs are not the baseline's, so the numbers cannot be compared:\n  ${changedInputs.join('\n  ')}\n`);
          anyFailed = true;
          continue;
        }
        const rows = compareRuns(baseline.rows, current, metrics, exp.tolerances, key);
        const bad = failed(rows);
        anyFailed ||= bad.length > 0;
        process.stdout.write(`${exp.name}: ${rows.length - bad.length}/${rows.length} checks within tolerance\n${table(rows)}\n`);
        if (bad.length) process.stdout.write(`${exp.name}: FAILED: ${bad.length} row(s) moved past tolerance, or cells missing/new:\n${table(bad)}\n`);
        anyFailed = checkPins(run) || anyFailed;
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    if (anyFailed) {
      process.stderr.write(
        'bench: check failed; if a number change is intended, run "bench check --update" and commit results/baseline/; a pinned claim changes only in its experiment file\n',
      );
      process.exitCode = 1;
    }
  },
};

export default command;
