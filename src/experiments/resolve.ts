import { UserError, show } from '../core/errors.js';
import { coerceParam, describeAllowed, fileValueAllowed, resolveParams, type ParamSpec, type ParamValue, type Params } from '../core/params.js';
import { DEFAULT_TRAIN_CONFIG, TRAIN_PARAM_SPECS } from '../train/config.js';
import { PROTOCOL_SPECS, protocolFields } from './eval-protocol.js';
import { DEFAULT_EVAL, ESTIMATE_BATCHES_SPEC, K_ALLOWED, TRAIN_FIELDS, validK } from './paths.js';
import type { CellConfig, EvalSpec, NamedParams, TrainSpec } from './types.js';

/** One leaf value of a cell under construction, with where it came from (for error messages). */
export interface Setting {
  value: unknown;
  /** Where the value was written: "base.train.lr", "sweep.grid.loss.params.tau", "--set train.lr". */
  origin: string;
  /** From the command line: a string to coerce, and its origin needs no file name. */
  cli: boolean;
}

/** A cell under construction: key path → setting. */
export type Flat = Map<string, Setting>;

// Also read from here by `bench list`.
export { DEFAULT_EVAL };

/** What a plugin lookup gives the resolver: the names on offer and each one's parameter specs. */
export interface PluginCatalogue {
  names(): string[];
  specs(name: string): readonly ParamSpec[] | undefined;
}

export interface ResolveContext {
  file: string;
  datasets: PluginCatalogue;
  losses: PluginCatalogue;
  /** Whether a loss reports an AP estimate (declares apConvention); needed of an `estimator`. */
  estimates?: (name: string) => boolean;
}

/**
 * Applies one layer of settings (base < dataset entry < grid < list < --set). A layer that
 * changes `loss.name` or `dataset.name` drops the parameters set by earlier layers for the old
 * plugin: parameters belong to their plugin, and a triplet cell must not inherit Smooth-AP's tau.
 */
export function applyLayer(flat: Flat, entries: ReadonlyArray<readonly [string, Setting]>): void {
  for (const [path, s] of entries) {
    if (!path.endsWith('.name')) continue;
    const prefix = path.slice(0, -'name'.length);
    const cur = flat.get(path);
    if (cur && String(cur.value) !== String(s.value)) {
      for (const k of [...flat.keys()]) if (k.startsWith(`${prefix}params.`)) flat.delete(k);
    }
    flat.set(path, s);
  }
  for (const [path, s] of entries) if (!path.endsWith('.name')) flat.set(path, s);
}

export function where(s: Setting, file: string): string {
  return s.cli ? s.origin : `${file}: ${s.origin}`;
}

/** A file value is checked as the format checks it (its type as written); only command-line strings are coerced. */
function checkValue(spec: ParamSpec, s: Setting, file: string): ParamValue {
  const loc = where(s, file);
  if (!s.cli) {
    if (!fileValueAllowed(spec, s.value)) throw new UserError(`${loc}: ${show(s.value)} is not allowed; expected ${describeAllowed(spec)}`);
    return s.value;
  }
  return coerceParam(spec, s.value, loc.slice(0, loc.length - spec.name.length - 1));
}

function resolvePlugin(kind: 'dataset' | 'loss' | 'estimator', flat: Flat, ctx: ResolveContext): NamedParams {
  const cat = kind === 'dataset' ? ctx.datasets : ctx.losses;
  const nameSetting = flat.get(`${kind}.name`);
  if (!nameSetting) {
    throw new UserError(`${ctx.file}: base.${kind}.name: missing; expected one of ${cat.names().join(', ')}`);
  }
  const name = nameSetting.value;
  const specs = typeof name === 'string' ? cat.specs(name) : undefined;
  if (typeof name !== 'string' || !specs) {
    throw new UserError(`${where(nameSetting, ctx.file)}: unknown ${kind} ${show(name)}; available: ${cat.names().join(', ')}`);
  }
  const given: Params = {};
  const prefix = `${kind}.params.`;
  for (const [path, s] of flat) {
    if (!path.startsWith(prefix)) continue;
    const key = path.slice(prefix.length);
    const spec = specs.find((p) => p.name === key);
    if (!spec) {
      const allowed = specs.length ? specs.map((p) => p.name).join(', ') : 'none';
      throw new UserError(`${where(s, ctx.file)}: unknown parameter of ${kind} ${name}; allowed: ${allowed}`);
    }
    given[key] = checkValue(spec, s, ctx.file);
  }
  return { name, params: resolveParams(specs, given, `${ctx.file}: ${kind}.params`) };
}

/**
 * The optional AP estimator (a loss plugin measured on the embeddings, not trained with): only
 * when some layer names it, and it must report an AP estimate.
 */
function resolveEstimator(flat: Flat, ctx: ResolveContext): NamedParams | undefined {
  const nameSetting = flat.get('estimator.name');
  if (!nameSetting) {
    const stray = [...flat].find(([path]) => path.startsWith('estimator.params.'));
    if (stray) throw new UserError(`${where(stray[1], ctx.file)}: estimator.name is not set; give estimator.name with its parameters`);
    return undefined;
  }
  const est = resolvePlugin('estimator', flat, ctx);
  if (ctx.estimates && !ctx.estimates(est.name)) {
    const able = ctx.losses.names().filter((n) => ctx.estimates!(n));
    throw new UserError(
      `${where(nameSetting, ctx.file)}: loss ${show(est.name)} reports no AP estimate (no apConvention); expected one of ${able.join(', ') || 'none'}`,
    );
  }
  return est;
}

function resolveTrain(flat: Flat, ctx: ResolveContext): TrainSpec {
  const out: Record<string, ParamValue> = {};
  for (const field of TRAIN_FIELDS) {
    const spec = TRAIN_PARAM_SPECS.find((p) => p.name === field)!;
    const s = flat.get(`train.${field}`);
    out[field] = s ? checkValue(spec, s, ctx.file) : (DEFAULT_TRAIN_CONFIG as unknown as Record<string, ParamValue>)[field]!;
  }
  return out as unknown as TrainSpec;
}

function resolveK(s: Setting | undefined, file: string): number[] {
  if (!s) return [...DEFAULT_EVAL.k];
  const raw = s.cli && typeof s.value === 'string' ? s.value.split(',').map((v) => (v.trim() === '' ? NaN : Number(v))) : s.value;
  if (!validK(raw)) throw new UserError(`${where(s, file)}: ${show(s.value)} is not allowed; expected ${K_ALLOWED}`);
  return [...new Set(raw)].sort((a, b) => a - b);
}

function resolveEval(flat: Flat, ctx: ResolveContext): EvalSpec {
  const s = flat.get('eval.estimateBatches');
  const protocol = protocolFields(
    (name) => {
      const p = flat.get(`eval.${name}`);
      return p ? checkValue(PROTOCOL_SPECS.find((q) => q.name === name)!, p, ctx.file) : undefined;
    },
    (name) => where(flat.get(`eval.${name}`)!, ctx.file),
  );
  return {
    k: resolveK(flat.get('eval.k'), ctx.file),
    estimateBatches: s ? (checkValue(ESTIMATE_BATCHES_SPEC, s, ctx.file) as number) : DEFAULT_EVAL.estimateBatches,
    ...protocol,
  };
}

const fromBase = (s: Setting | undefined): boolean => !s || s.origin.startsWith('base.');

/** Checks the relations between fields that no single field's range can express. */
export function checkCombination(cfg: CellConfig, flat: Flat, ctx: ResolveContext): void {
  const { batchSize: b, perClass: p } = cfg.train;
  if (b % p !== 0) {
    const ps = flat.get('train.perClass');
    const bs = flat.get('train.batchSize');
    // Blame the value the sweep or the command line brought in: that is what the user just changed.
    if (!fromBase(bs) && fromBase(ps)) {
      throw new UserError(`${where(bs!, ctx.file)}: ${b} is not a multiple of train.perClass ${p}; expected a multiple of ${p}`);
    }
    const loc = ps ? where(ps, ctx.file) : `${ctx.file}: train.perClass (default)`;
    throw new UserError(`${loc}: ${p} does not divide train.batchSize ${b}; expected a divisor of ${b} (B/P classes per batch)`);
  }
}

/**
 * Turns a flat cell into its configuration, every field validated and defaults filled. The
 * relations between fields are left to checkCombination, so that `exclude` can drop a cell
 * that breaks them first.
 */
export function resolveCell(flat: Flat, seed: number, ctx: ResolveContext): CellConfig {
  const estimator = resolveEstimator(flat, ctx);
  return {
    dataset: resolvePlugin('dataset', flat, ctx),
    train: resolveTrain(flat, ctx),
    loss: resolvePlugin('loss', flat, ctx),
    ...(estimator ? { estimator } : {}),
    eval: resolveEval(flat, ctx),
    seed,
  };
}

/** The parts of a cell that do not need a dataset (used to validate a base without one). */
export function resolvePartial(flat: Flat, ctx: ResolveContext): { train: TrainSpec; loss: NamedParams; estimator?: NamedParams; eval: EvalSpec } {
  const estimator = resolveEstimator(flat, ctx);
  return {
    train: resolveTrain(flat, ctx),
    loss: resolvePlugin('loss', flat, ctx),
    ...(estimator ? { estimator } : {}),
    eval: resolveEval(flat, ctx),
  };
}

export function resolveDataset(flat: Flat, ctx: ResolveContext): NamedParams {
  return resolvePlugin('dataset', flat, ctx);
}
