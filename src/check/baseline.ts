import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { UserError, show } from '../core/errors.js';
import { readContractCsv, type ReadContext, type TypedTable } from '../experiments/contract.js';
import { readManifest, type Manifest } from '../experiments/manifest-file.js';
import type { Table } from '../experiments/tables.js';
import { toCsv } from '../experiments/tables.js';

/** results/baseline/<experiment>.csv beside <experiment>.manifest.json (the run it came from). */
export function baselinePaths(dir: string, experiment: string): { csv: string; manifest: string } {
  return { csv: join(dir, `${experiment}.csv`), manifest: join(dir, `${experiment}.manifest.json`) };
}

/** The baseline's rows, typed by the results contract (a baseline is a results.csv). */
export function readBaseline(dir: string, experiment: string, ctx: ReadContext = {}): TypedTable {
  const { csv } = baselinePaths(dir, experiment);
  if (!existsSync(csv)) {
    throw new UserError(
      `check: no baseline for experiment ${show(experiment)}: ${csv} does not exist; create it on purpose with "bench check --update ${experiment}"`,
    );
  }
  return readContractCsv(csv, 'results', ctx);
}

export function writeBaseline(dir: string, experiment: string, results: Table, manifest: unknown): void {
  const paths = baselinePaths(dir, experiment);
  writeFileAtomic(paths.csv, toCsv(results));
  writeFileAtomic(paths.manifest, JSON.stringify(manifest, null, 2) + '\n');
}

/**
 * How the run's inputs differ from those the baseline was made from (data file and plugin
 * digests): numbers of other data are not a regression of the code, so the check says so
 * instead of comparing them. Empty when they match, or when the baseline predates digests (or
 * has no manifest); a damaged manifest is an error rather than a check of the inputs skipped.
 */
export function inputDifferences(dir: string, experiment: string, now: Manifest['inputs']): string[] {
  const { manifest } = baselinePaths(dir, experiment);
  if (!existsSync(manifest)) return [];
  const before = readManifest(manifest).inputs;
  if (!before || !now) return [];
  const out: string[] = [];
  for (const f of new Set([...Object.keys(before.data), ...Object.keys(now.data)])) {
    if (before.data[f] !== now.data[f])
      out.push(`data file ${f}: ${before.data[f]?.slice(0, 12) ?? 'not read'} in the baseline, ${now.data[f]?.slice(0, 12) ?? 'not read'} now`);
  }
  for (const n of new Set([...Object.keys(before.plugins), ...Object.keys(now.plugins)])) {
    if (before.plugins[n]?.sha256 !== now.plugins[n]?.sha256) out.push(`plugin of loss ${n} differs from the baseline's`);
  }
  return out;
}
