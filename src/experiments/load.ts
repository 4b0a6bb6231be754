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
import { validate } from '../core/shape.js';
import { DEFAULT_SEEDS, experimentFormat, type ExperimentFile } from './format.js';
import { checkPath, getPath } from './paths.js';
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

export interface LoadedExperiment {
  experiment: ResolvedExperiment;
  /** Every cell of the experiment (after the overrides), in run order. */
  cells: Cell[];
}

/** Errors bound to one file, so every message starts with it. */
class Checker {
  constructor(readonly file: string) {}

  fail(path: string, msg: string): never {
    throw new UserError(`${this.file}: ${path}: ${msg}`);
  }
}

/** The base's settings as key paths (the first layer of every cell). */
function baseSettings(base: ExperimentFile['base']): Flat {
  const flat: Flat = new Map();
  const put = (path: string, value: unknown): void => {
    flat.set(path, { value, origin: `base.${path}`, cli: false });
  };
  for (const kind of ['dataset', 'loss', 'estimator'] as const) {
    const p = base[kind];
    if (p === undefined) continue;
    put(`${kind}.name`, p.name);
    for (const [k, v] of Object.entries(p.params ?? {})) put(`${kind}.params.${k}`, v);
  }
  for (const part of ['train', 'eval'] as const) for (const [k, v] of Object.entries(base[part] ?? {})) put(`${part}.${k}`, v);
  return flat;
}

/** Tolerance metrics depend on the experiment's Recall@K list, so they are checked here rather than by the format. */
function readTolerances(c: Checker, given: ExperimentFile['tolerances'], ks: readonly number[]): Record<string, Tolerance> {
  const metrics = [...trackableMetrics(ks), '*'];
  const out: Record<string, Tolerance> = {};
  for (const [metric, t] of Object.entries(given ?? {})) {
    if (!metrics.includes(metric)) c.fail(`tolerances.${metric}`, `unknown metric; allowed: ${metrics.join(', ')}`);
    out[metric] = { abs: t.abs ?? 0, rel: t.rel ?? 0 };
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
  const top = validate(experimentFormat, raw ?? {}, c.file);
  const description = top.description ?? '';
  const baseFlat = baseSettings(top.base);
  const hasDataset = baseFlat.has('dataset.name');
  const baseDir = dirname(resolve(file));
  const inputCtx = { registry: opts.registry, digests: opts.digests ?? new DigestCache() };
  let seeds = top.seeds ?? DEFAULT_SEEDS;
  let datasets: DatasetEntry[] = (top.datasets ?? []).map((d) => ({ name: d.name, params: d.params ?? {}, set: d.set ?? {} }));
  const sweep: SweepSpec = { grid: top.sweep?.grid ?? {}, list: top.sweep?.list ?? [], exclude: top.sweep?.exclude ?? [] };
  const report: ReportSpec = { ...top.report };
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
