import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { getDataset } from '../data/index.js';
import type { DatasetLoadOptions } from '../data/types.js';
import type { LossRegistry } from '../losses/registry.js';
import { cellId } from './canonical.js';
import { packageVersion } from './manifest.js';
import type { CellConfig, CellInputs } from './types.js';

/** What a file that does not exist digests to: the cell can still be named, and loading it fails loudly. */
export const MISSING = 'missing';

interface Entry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/**
 * sha256 of files, remembered by path, size and modification time, so that a large data file is
 * read once and later runs only stat it. Optionally persisted (results/.digests.json) so that
 * separate processes, e.g. the tasks of a cluster array, share the work.
 */
export class DigestCache {
  private entries: Record<string, Entry> = {};
  private dirty = false;

  constructor(private readonly file?: string) {
    if (file && existsSync(file)) {
      try {
        this.entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Entry>;
      } catch {
        // A damaged cache only costs re-reading the files.
        this.entries = {};
      }
    }
  }

  /** `resultsDir/.digests.json`: one cache for every experiment whose results live there. */
  static forResults(resultsDir: string): DigestCache {
    return new DigestCache(join(resultsDir, '.digests.json'));
  }

  digest(path: string): string {
    let st;
    try {
      st = statSync(path);
    } catch {
      return MISSING;
    }
    if (!st.isFile()) return MISSING;
    const hit = this.entries[path];
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
    const sha256 = hashFile(path);
    this.entries[path] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
    this.dirty = true;
    return sha256;
  }

  save(): void {
    if (!this.file || !this.dirty) return;
    writeFileAtomic(this.file, JSON.stringify(this.entries) + '\n');
    this.dirty = false;
  }
}

function hashFile(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export interface InputContext {
  registry: LossRegistry;
  /** Where relative data paths resolve (see DatasetLoadOptions). */
  dataDir?: string;
  baseDir?: string;
  digests: DigestCache;
}

export function datasetLoadOptions(seed: number, ctx: { dataDir?: string | undefined; baseDir?: string | undefined }): DatasetLoadOptions {
  return { seed, ...(ctx.dataDir !== undefined ? { dataDir: ctx.dataDir } : {}), ...(ctx.baseDir !== undefined ? { baseDir: ctx.baseDir } : {}) };
}

/** The content a cell's numbers depend on besides its configuration. */
export function cellInputs(cfg: CellConfig, ctx: InputContext): CellInputs {
  const ds = getDataset(cfg.dataset.name);
  const data: Record<string, string> = {};
  for (const f of ds.inputFiles?.(cfg.dataset.params, datasetLoadOptions(cfg.seed, ctx)) ?? []) data[f] = ctx.digests.digest(f);
  const plugins: Record<string, { file: string; sha256: string }> = {};
  for (const name of [cfg.loss.name, cfg.estimator?.name]) {
    const file = name === undefined ? undefined : ctx.registry.fileOf(name);
    if (name !== undefined && file !== undefined) plugins[name] = { file, sha256: ctx.digests.digest(file) };
  }
  return { rankbench: packageVersion(), data, plugins };
}

/**
 * A cell's id: the configuration plus the content of its inputs. File paths are left out, so a
 * project moved to another folder keeps its cells; the digests are in, so a file replaced under
 * the same name makes new cells.
 */
export function identify(cfg: CellConfig, inputs: CellInputs): string {
  const plugins = Object.fromEntries(Object.entries(inputs.plugins).map(([k, v]) => [k, v.sha256]));
  return cellId({ config: cfg, rankbench: inputs.rankbench, data: Object.values(inputs.data), plugins });
}

function shortDate(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : 'an earlier run';
}

/**
 * Why an earlier result of the same configuration is not this cell's: each input that differs,
 * e.g. "data file /d/x.npy changed since 2026-12-01 10:00:00 UTC".
 */
export function inputChanges(before: CellInputs | undefined, now: CellInputs, finishedAt?: string): string[] {
  const since = shortDate(finishedAt);
  if (!before) return [`made by an earlier rankbench that did not record its inputs (${since})`];
  const out: string[] = [];
  if (before.rankbench !== now.rankbench) out.push(`rankbench version ${before.rankbench} → ${now.rankbench}`);
  const files = new Set([...Object.keys(before.data), ...Object.keys(now.data)]);
  for (const f of [...files].sort()) {
    const a = before.data[f];
    const b = now.data[f];
    if (a === b) continue;
    if (a === undefined) out.push(`data file ${f} is new`);
    else if (b === undefined) out.push(`data file ${f} is no longer read`);
    else if (b === MISSING) out.push(`data file ${f} is missing`);
    else out.push(`data file ${f} changed since ${since}`);
  }
  const names = new Set([...Object.keys(before.plugins), ...Object.keys(now.plugins)]);
  for (const n of [...names].sort()) {
    const a = before.plugins[n];
    const b = now.plugins[n];
    if (a?.sha256 === b?.sha256) continue;
    out.push(b ? `plugin file ${b.file} of loss ${n} changed since ${since}` : `loss ${n} is no longer loaded from ${a!.file}`);
  }
  return out;
}
