import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { UserError, show } from '../core/errors.js';
import type { ParamSpec } from '../core/params.js';
import { datasetNames, getDataset } from '../data/index.js';
import type { LossRegistry } from '../losses/registry.js';
import { parseClaims } from '../claims/parse.js';
import { canonicalJson, cellId } from './canonical.js';
import { trackableMetrics } from './columns.js';
import { experimentNameOf, findExperimentFile, readExperimentYaml } from './file.js';
import { cellInputs, DigestCache, identify } from './inputs.js';
import { checkPath, getPath, TRAIN_FIELDS, EVAL_FIELDS } from './paths.js';
import {
  applyLayer,
  checkCombination,
  resolveCell,
  resolveDataset,
  resolvePartial,
  type Flat,
  type PluginCatalogue,
  type ResolveContext,
  type Setting,
} from './resolve.js';
import type { Cell, CellConfig, ColumnValue, DatasetEntry, ExperimentOverrides, ReportSpec, ResolvedExperiment, SweepSpec, Tolerance } from './types.js';

type Obj = Record<string, unknown>;

export interface LoadedExperiment {
  experiment: ResolvedExperiment;
  /** Every cell of the experiment (after the overrides), in run order. */
  cells: Cell[];
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Error helpers bound to one file, so every message starts with it. */
class Checker {
  constructor(readonly file: string) {}

  fail(path: string, msg: string): never {
    throw new UserError(`${this.file}: ${path}: ${msg}`);
  }

  obj(v: unknown, path: string, allowed: readonly string[]): Obj {
    if (!isObj(v)) this.fail(path || '(top level)', `${show(v)} is not allowed; expected a mapping with keys ${allowed.join(', ')}`);
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.fail(path ? `${path}.${k}` : k, `unknown key; allowed: ${allowed.join(', ')}`);
    }
    return v;
  }

  /** A mapping whose keys are free (plugin parameters, key paths). */
  map(v: unknown, path: string, what: string): Obj {
    if (!isObj(v)) this.fail(path, `${show(v)} is not allowed; expected a mapping of ${what}`);
    return v;
  }

  list(v: unknown, path: string, what: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `${show(v)} is not allowed; expected a list of ${what}`);
    return v;
  }

  str(v: unknown, path: string, what = 'a string'): string {
    if (typeof v !== 'string' || v === '') this.fail(path, `${show(v)} is not allowed; expected ${what}`);
    return v;
  }
}

// `tune` is read by src/tuning/spec.ts; the cells here are then its base configuration.
const TOP_KEYS = ['description', 'base', 'seeds', 'datasets', 'sweep', 'tolerances', 'report', 'claims', 'tune'];
const BASE_KEYS = ['dataset', 'train', 'loss', 'estimator', 'eval'];
const PLUGIN_KEYS = ['name', 'params'];
const DATASET_ENTRY_KEYS = ['name', 'params', 'set'];
const SWEEP_KEYS = ['grid', 'list', 'exclude'];
const REPORT_KEYS = ['x', 'logX'];
const TOLERANCE_KEYS = ['abs', 'rel'];

/** Scalar leaves are what a sweep may assign; eval.k alone takes a list. */
function checkLeaf(c: Checker, v: unknown, path: string, keyPath: string): void {
  const scalar = typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
  if (scalar) return;
  if (keyPath === 'eval.k' && Array.isArray(v)) return;
  c.fail(path, `${show(v)} is not allowed; expected a number, string or boolean`);
}

function baseSettings(c: Checker, raw: unknown): { flat: Flat; hasDataset: boolean } {
  const base = c.obj(raw, 'base', BASE_KEYS);
  const flat: Flat = new Map();
  const put = (path: string, value: unknown): void => {
    flat.set(path, { value, origin: `base.${path}`, cli: false });
  };
  for (const kind of ['dataset', 'loss', 'estimator'] as const) {
    if (base[kind] === undefined) continue;
    const p = c.obj(base[kind], `base.${kind}`, PLUGIN_KEYS);
    put(`${kind}.name`, c.str(p.name, `base.${kind}.name`, `the name of a ${kind}`));
    if (p.params !== undefined) {
      const params = c.map(p.params, `base.${kind}.params`, 'parameter names to values');
      for (const [k, v] of Object.entries(params)) put(`${kind}.params.${k}`, v);
    }
  }
  if (base.train !== undefined) {
    const t = c.obj(base.train, 'base.train', TRAIN_FIELDS);
    for (const [k, v] of Object.entries(t)) put(`train.${k}`, v);
  }
  if (base.eval !== undefined) {
    const e = c.obj(base.eval, 'base.eval', EVAL_FIELDS);
    for (const [k, v] of Object.entries(e)) put(`eval.${k}`, v);
  }
  if (!flat.has('loss.name')) c.fail('base.loss', 'missing; expected { name: <loss>, params: {...} }');
  return { flat, hasDataset: flat.has('dataset.name') };
}

function readSeeds(c: Checker, raw: unknown): number[] {
  if (raw === undefined) return [0];
  const list = c.list(raw, 'seeds', 'integers >= 0');
  if (list.length === 0) c.fail('seeds', 'empty; expected at least one seed');
  list.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > 4294967295) {
      c.fail(`seeds[${i}]`, `${show(s)} is not allowed; expected an integer >= 0`);
    }
  });
  const seeds = list as number[];
  if (new Set(seeds).size !== seeds.length) c.fail('seeds', `${show(seeds)} repeats a seed; expected distinct seeds`);
  return seeds;
}

function readKeyPathMap(c: Checker, raw: unknown, path: string): Obj {
  const m = c.map(raw, path, 'key paths (e.g. loss.params.tau) to values');
  for (const [k, v] of Object.entries(m)) {
    checkPath(k, `${c.file}: ${path}.`);
    checkLeaf(c, v, `${path}.${k}`, k);
  }
  return m;
}

function readDatasets(c: Checker, raw: unknown): DatasetEntry[] {
  if (raw === undefined) return [];
  const list = c.list(raw, 'datasets', 'datasets ({ name, params, set })');
  if (list.length === 0) c.fail('datasets', 'empty; expected at least one dataset, or leave it out and give base.dataset');
  return list.map((e, i) => {
    const at = `datasets[${i}]`;
    const o = c.obj(e, at, DATASET_ENTRY_KEYS);
    const name = c.str(o.name, `${at}.name`, 'the name of a dataset');
    const params = o.params === undefined ? {} : c.map(o.params, `${at}.params`, 'parameter names to values');
    const set = o.set === undefined ? {} : readKeyPathMap(c, o.set, `${at}.set`);
    for (const k of Object.keys(set)) {
      if (k.startsWith('dataset.')) c.fail(`${at}.set.${k}`, `unknown key; a dataset's own settings go in ${at}.name and ${at}.params`);
    }
    return { name, params, set };
  });
}

function readSweep(c: Checker, raw: unknown): SweepSpec {
  if (raw === undefined) return { grid: {}, list: [], exclude: [] };
  const s = c.obj(raw, 'sweep', SWEEP_KEYS);
  const grid: Record<string, unknown[]> = {};
  if (s.grid !== undefined) {
    const g = c.map(s.grid, 'sweep.grid', 'key paths to lists of values');
    for (const [k, v] of Object.entries(g)) {
      checkPath(k, `${c.file}: sweep.grid.`);
      const values = c.list(v, `sweep.grid.${k}`, 'values');
      if (values.length === 0) c.fail(`sweep.grid.${k}`, 'empty; expected at least one value');
      values.forEach((x, i) => checkLeaf(c, x, `sweep.grid.${k}[${i}]`, k));
      const seen = new Set(values.map((x) => canonicalJson(x)));
      if (seen.size !== values.length) c.fail(`sweep.grid.${k}`, `${show(values)} repeats a value; expected distinct values`);
      grid[k] = values;
    }
  }
  const readList = (key: 'list' | 'exclude'): Obj[] => {
    if (s[key] === undefined) return [];
    const l = c.list(s[key], `sweep.${key}`, 'mappings of key paths to values');
    return l.map((e, i) => {
      const at = `sweep.${key}[${i}]`;
      if (key === 'exclude') {
        const m = c.map(e, at, 'key paths to values');
        for (const [k, v] of Object.entries(m)) {
          if (k !== 'seed') checkPath(k, `${c.file}: ${at}.`);
          checkLeaf(c, v, `${at}.${k}`, k);
        }
        if (Object.keys(m).length === 0) c.fail(at, 'empty; expected at least one key path');
        return m;
      }
      const m = readKeyPathMap(c, e, at);
      if (Object.keys(m).length === 0) c.fail(at, 'empty; expected at least one key path');
      return m;
    });
  };
  return { grid, list: readList('list'), exclude: readList('exclude') };
}

function readTolerances(c: Checker, raw: unknown, ks: readonly number[]): Record<string, Tolerance> {
  if (raw === undefined) return {};
  const m = c.map(raw, 'tolerances', 'metric names to { abs, rel }');
  const metrics = [...trackableMetrics(ks), '*'];
  const out: Record<string, Tolerance> = {};
  for (const [metric, v] of Object.entries(m)) {
    const at = `tolerances.${metric}`;
    if (!metrics.includes(metric)) c.fail(at, `unknown metric; allowed: ${metrics.join(', ')}`);
    const t = c.obj(v, at, TOLERANCE_KEYS);
    if (t.abs === undefined && t.rel === undefined) c.fail(at, 'empty; expected abs and/or rel');
    const num = (key: 'abs' | 'rel'): number => {
      const x = t[key];
      if (x === undefined) return 0;
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) c.fail(`${at}.${key}`, `${show(x)} is not allowed; expected a number >= 0`);
      return x;
    };
    out[metric] = { abs: num('abs'), rel: num('rel') };
  }
  return out;
}

function readReport(c: Checker, raw: unknown): ReportSpec {
  if (raw === undefined) return {};
  const r = c.obj(raw, 'report', REPORT_KEYS);
  const out: ReportSpec = {};
  if (r.x !== undefined) out.x = c.str(r.x, 'report.x', 'a swept key path');
  if (r.logX !== undefined) {
    if (typeof r.logX !== 'boolean') c.fail('report.logX', `${show(r.logX)} is not allowed; expected true or false`);
    out.logX = r.logX;
  }
  return out;
}

function cartesian(grid: Record<string, unknown[]>): Array<Array<[string, unknown]>> {
  let combos: Array<Array<[string, unknown]>> = [[]];
  for (const [k, values] of Object.entries(grid)) {
    combos = combos.flatMap((combo) => values.map((v) => [...combo, [k, v] as [string, unknown]]));
  }
  return combos;
}

function datasetCatalogue(): PluginCatalogue {
  return {
    names: () => datasetNames(),
    specs: (name) => (datasetNames().includes(name) ? getDataset(name).params : undefined),
  };
}

function lossCatalogue(reg: LossRegistry): PluginCatalogue {
  return { names: () => reg.names(), specs: (name): readonly ParamSpec[] | undefined => (reg.has(name) ? reg.get(name).params : undefined) };
}

/** Loose equality of a config value with a value from a filter (file value or command-line string). */
export function sameValue(actual: unknown, wanted: unknown): boolean {
  if (typeof wanted === 'string' && typeof actual !== 'string') {
    if (typeof actual === 'number') return wanted.trim() !== '' && Number(wanted) === actual;
    if (typeof actual === 'boolean') return wanted === String(actual);
    if (Array.isArray(actual)) return wanted.split(',').map(Number).join(',') === actual.join(',');
  }
  return canonicalJson(actual) === canonicalJson(wanted);
}

/** The value a filter key refers to: a key path, or one of the column names dataset, loss, seed. */
export function filterValue(cfg: CellConfig, key: string): unknown {
  const alias: Record<string, string> = { dataset: 'dataset.name', loss: 'loss.name' };
  return getPath(cfg, alias[key] ?? key);
}

function swept(experiment: { sweep: SweepSpec }, cells: CellConfig[]): string[] {
  const declared: string[] = [];
  const add = (k: string): void => {
    if (!declared.includes(k) && k !== 'dataset.name' && k !== 'loss.name') declared.push(k);
  };
  Object.keys(experiment.sweep.grid).forEach(add);
  for (const e of experiment.sweep.list) Object.keys(e).forEach(add);
  // Dataset parameters that differ between cells of one dataset name are swept too (two
  // variants of `synthetic` in `datasets:` must not collapse into one group).
  const byName = new Map<string, Map<string, Set<string>>>();
  for (const cfg of cells) {
    const m = byName.get(cfg.dataset.name) ?? new Map<string, Set<string>>();
    byName.set(cfg.dataset.name, m);
    for (const [p, v] of Object.entries(cfg.dataset.params)) {
      const s = m.get(p) ?? new Set<string>();
      s.add(canonicalJson(v));
      m.set(p, s);
    }
  }
  const varying = new Set<string>();
  for (const m of byName.values()) for (const [p, s] of m) if (s.size > 1) varying.add(`dataset.params.${p}`);
  [...varying].sort().forEach(add);
  return declared;
}

function columnValue(v: unknown): ColumnValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

export interface LoadOptions extends ExperimentOverrides {
  registry: LossRegistry;
  /** `--data-dir`: where relative data paths resolve instead of the experiment file's folder. */
  dataDir?: string;
  /** Digests of input files, shared across loads (default: a fresh in-memory cache). */
  digests?: DigestCache;
}

/**
 * A relative file path given with --set is meant from where the user typed it: made absolute
 * here, so that it is not read from the experiment file's folder like the file's own paths.
 */
function absoluteCliPaths(cfg: CellConfig, flat: Flat, specs: readonly ParamSpec[] | undefined): void {
  for (const spec of specs ?? []) {
    const v = cfg.dataset.params[spec.name];
    if (spec.path && typeof v === 'string' && v !== '' && !isAbsolute(v) && flat.get(`dataset.params.${spec.name}`)?.cli) {
      cfg.dataset.params[spec.name] = resolve(v);
    }
  }
}

/** How a file is named in messages: relative to the working directory when inside it. */
function label(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(file);
}

/**
 * Loads, validates and expands an experiment: every cell is resolved (plugins looked up,
 * parameters checked against their specs, defaults filled) before anything runs, so a bad value
 * anywhere in the file or on the command line fails at once with the file and key path.
 */
export function loadExperiment(fileOrName: string, opts: LoadOptions): LoadedExperiment {
  const file = findExperimentFile(fileOrName);
  const c = new Checker(label(file));
  const raw = readExperimentYaml(file, c.file);
  const top = c.obj(raw ?? {}, '', TOP_KEYS);
  if (top.base === undefined) c.fail('base', 'missing; expected { dataset, train, loss, eval }');
  const description = top.description === undefined ? '' : c.str(top.description, 'description');
  const { flat: baseFlat, hasDataset } = baseSettings(c, top.base);
  const baseDir = dirname(resolve(file));
  const inputCtx = { registry: opts.registry, digests: opts.digests ?? new DigestCache() };
  let seeds = readSeeds(c, top.seeds);
  let datasets = readDatasets(c, top.datasets);
  const sweep = readSweep(c, top.sweep);
  const report = readReport(c, top.report);
  const ctx: ResolveContext = {
    file: c.file,
    datasets: datasetCatalogue(),
    losses: lossCatalogue(opts.registry),
    estimates: (name) => opts.registry.has(name) && opts.registry.get(name).apConvention !== undefined,
  };

  // The base is checked on its own too, so a bad base value fails even when every cell overrides it.
  const partial = resolvePartial(baseFlat, ctx);
  const baseDataset = hasDataset ? resolveDataset(baseFlat, ctx) : null;

  const overrides: ExperimentOverrides = {};
  if (opts.seeds) {
    overrides.seeds = opts.seeds;
    seeds = opts.seeds;
  }
  const cliSet = Object.entries(opts.set ?? {});
  for (const [k] of cliSet) checkPath(k, '--set ');
  if (cliSet.length) overrides.set = { ...opts.set };

  /** (entry, origin prefix) per dataset the cells run on; null = the base dataset. */
  let dsRuns: Array<{ entry: DatasetEntry; at: string } | null> = datasets.map((entry, i) => ({ entry, at: `datasets[${i}]` }));
  if (opts.dataset?.length) {
    overrides.dataset = opts.dataset;
    dsRuns = [...new Set(opts.dataset)].flatMap((name) => {
      const fromFile = datasets.flatMap((entry, i) => (entry.name === name ? [{ entry, at: `datasets[${i}]` }] : []));
      if (fromFile.length) return fromFile;
      if (!datasetNames().includes(name)) throw new UserError(`--dataset: unknown dataset ${show(name)}; available: ${datasetNames().join(', ')}`);
      return [{ entry: { name, params: {}, set: {} }, at: '--dataset' }];
    });
    datasets = dsRuns.map((r) => r!.entry);
  }
  if (dsRuns.length === 0) {
    if (!hasDataset) c.fail('base.dataset', 'missing; give base.dataset or a datasets list');
    dsRuns = [null];
  }

  const combos = cartesian(sweep.grid);
  const listEntries = sweep.list.length ? sweep.list : [null];
  const cells: Cell[] = [];
  const configs: CellConfig[] = [];
  const seen = new Map<string, string>();
  for (const ds of dsRuns) {
    for (const combo of combos) {
      for (const [j, le] of listEntries.entries()) {
        for (const seed of seeds) {
          const flat: Flat = new Map(baseFlat);
          const s = (value: unknown, origin: string, cli = false): Setting => ({ value, origin, cli });
          if (ds) {
            const cli = ds.at === '--dataset';
            const at = cli ? `--dataset ${ds.entry.name}` : ds.at;
            applyLayer(flat, [
              ['dataset.name', s(ds.entry.name, cli ? at : `${at}.name`, cli)],
              ...Object.entries(ds.entry.params).map(([k, v]) => [`dataset.params.${k}`, s(v, `${at}.params.${k}`)] as const),
            ]);
            applyLayer(
              flat,
              Object.entries(ds.entry.set).map(([k, v]) => [k, s(v, `${at}.set.${k}`)] as const),
            );
          }
          applyLayer(
            flat,
            combo.map(([k, v]) => [k, s(v, `sweep.grid.${k}`)] as const),
          );
          if (le)
            applyLayer(
              flat,
              Object.entries(le).map(([k, v]) => [k, s(v, `sweep.list[${j}].${k}`)] as const),
            );
          applyLayer(
            flat,
            cliSet.map(([k, v]) => [k, s(v, `--set ${k}`, true)] as const),
          );
          const cfg = resolveCell(flat, seed, ctx);
          absoluteCliPaths(cfg, flat, ctx.datasets.specs(cfg.dataset.name));
          if (sweep.exclude.some((ex) => Object.entries(ex).every(([k, v]) => sameValue(filterValue(cfg, k), v)))) continue;
          checkCombination(cfg, flat, ctx);
          const configId = cellId(cfg);
          const where = [ds ? ds.entry.name : cfg.dataset.name, ...combo.map(([k, v]) => `${k}=${show(v)}`), le ? `sweep.list[${j}]` : '', `seed ${seed}`]
            .filter(Boolean)
            .join(', ');
          const prev = seen.get(configId);
          if (prev !== undefined) {
            // A --set that pins a swept key makes cells coincide on purpose; in the file it is a mistake.
            if (cliSet.length) continue;
            c.fail(
              'sweep',
              `two cells have the same configuration (${prev} and ${where}); remove the duplicate ` +
                `(each sweep.list entry is combined with every sweep.grid combination, and a parameter the loss does not have is dropped)`,
            );
          }
          seen.set(configId, where);
          configs.push(cfg);
          const inputs = cellInputs(cfg, { ...inputCtx, dataDir: opts.dataDir, baseDir });
          cells.push({ id: identify(cfg, inputs), configId, inputs, config: cfg, swept: {} });
        }
      }
    }
  }
  if (cells.length === 0) c.fail('sweep.exclude', 'excludes every cell');

  const sweptCols = swept({ sweep }, configs);
  for (const cell of cells) for (const col of sweptCols) cell.swept[col] = columnValue(getPath(cell.config, col));
  const xColumns = [...sweptCols, 'dataset', 'loss'];
  if (report.x !== undefined && !xColumns.includes(report.x)) {
    c.fail('report.x', `${show(report.x)} is not a swept column; allowed: ${xColumns.join(', ')}`);
  }
  const ks = [...new Set(configs.flatMap((cfg) => cfg.eval.k))].sort((a, b) => a - b);
  const tolerances = readTolerances(c, top.tolerances, ks);
  const claims = parseClaims(top.claims, {
    fail: (path, msg) => c.fail(path, msg),
    params: [...sweptCols, 'loss.name'],
    metrics: trackableMetrics(ks),
    declared: (param) => {
      const listed = [...(sweep.grid[param] ?? []), ...sweep.list.flatMap((e) => (param in e ? [e[param]] : []))];
      return listed.length ? (listed as Array<string | number | boolean>) : undefined;
    },
  });

  const experiment: ResolvedExperiment = {
    name: experimentNameOf(file),
    file: c.file,
    baseDir,
    description,
    base: { dataset: baseDataset, ...partial },
    seeds,
    datasets,
    sweep,
    tolerances,
    report,
    overrides,
    swept: sweptCols,
    claims,
  };
  return { experiment, cells };
}

/**
 * Keeps the cells matching every `--only key=value` (values of one key are alternatives).
 * A key that names nothing, or a value no cell has, is an error rather than an empty run.
 */
export function filterCells(cells: readonly Cell[], only: Record<string, string[]>): Cell[] {
  let out = [...cells];
  for (const [key, values] of Object.entries(only)) {
    if (!['dataset', 'loss', 'seed'].includes(key)) checkPath(key, '--only ');
    for (const v of values) {
      if (!cells.some((cell) => sameValue(filterValue(cell.config, key), v))) {
        const have = [...new Set(cells.map((cell) => canonicalJson(filterValue(cell.config, key) ?? null)))];
        throw new UserError(`--only ${key}=${v}: no cell has this value; values: ${have.join(', ')}`);
      }
    }
    out = out.filter((cell) => values.some((v) => sameValue(filterValue(cell.config, key), v)));
  }
  return out;
}
