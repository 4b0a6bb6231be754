import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import type { CellResult } from './types.js';

export function experimentDir(resultsDir: string, experiment: string): string {
  return join(resultsDir, experiment);
}

export function cellsDir(resultsDir: string, experiment: string): string {
  return join(resultsDir, experiment, 'cells');
}

export function cellPath(resultsDir: string, experiment: string, id: string): string {
  return join(cellsDir(resultsDir, experiment), `${id}.json`);
}

/** NaN and ±Infinity survive the round trip as strings (plain JSON would turn them into null). */
function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

function reviver(_key: string, v: unknown): unknown {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v;
}

/**
 * Written once, complete: a killed cell leaves no file and is redone. The finished file is put
 * in place by a hard link, which fails when the name exists, so a result another worker wrote
 * first is never replaced; `replace` (a --force rerun) renames over it instead, and so does a
 * file there that is no result of this cell (damaged or edited by hand: the reason the cell
 * was run again). Returns whether this call's result is the one on disk.
 */
export function writeCellResult(resultsDir: string, result: CellResult, opts: { replace?: boolean } = {}): boolean {
  const path = cellPath(resultsDir, result.experiment, result.id);
  const text = JSON.stringify(result, replacer, 2) + '\n';
  if (opts.replace) {
    writeFileAtomic(path, text);
    return true;
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(tmp, text);
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (readCellResult(resultsDir, result.experiment, result.id) !== null) return false;
    writeFileAtomic(path, text);
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Every parseable cell file in the folder (finished cells of any inputs), for explaining non-reuse. */
export function readAllCellResults(resultsDir: string, experiment: string): CellResult[] {
  const dir = cellsDir(resultsDir, experiment);
  if (!existsSync(dir)) return [];
  const out: CellResult[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json') || f.startsWith('.')) continue;
    const r = readCellResult(resultsDir, experiment, f.slice(0, -5));
    if (r) out.push(r);
  }
  return out;
}

/**
 * The finished result of a cell, or null when there is none. A file that does not parse or
 * belongs to another id (edited by hand) counts as unfinished, so the cell is run again.
 */
export function readCellResult(resultsDir: string, experiment: string, id: string): CellResult | null {
  const r = readCellFile(cellPath(resultsDir, experiment, id));
  return r && r.id === id ? r : null;
}

/**
 * A cell file's result (non-finite numbers restored), or null when the file is missing, does
 * not parse or is no finished result; the runner, merge and the report all read cells here.
 */
export function readCellFile(path: string): CellResult | null {
  if (!existsSync(path)) return null;
  try {
    const r = JSON.parse(readFileSync(path, 'utf8'), reviver) as CellResult | null;
    return r && typeof r.id === 'string' && r.metrics && r.untrained ? r : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files that a killed writer left behind (writeFileAtomic names them
 * .tmp-<file>-<pid>-<time>); a live writer's temp file is left alone.
 */
export function removeStaleTemps(dir: string): number {
  if (!existsSync(dir)) return 0;
  let removed = 0;
  for (const f of readdirSync(dir)) {
    const m = /^\.tmp-.*-(\d+)-\d+$/.exec(f);
    if (m && !alive(Number(m[1]))) {
      rmSync(join(dir, f), { force: true });
      removed++;
    }
  }
  return removed;
}
