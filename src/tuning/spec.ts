import { UserError, show } from '../core/errors.js';
import { coerceParam, describeAllowed, type ParamSpec, type ParamValue } from '../core/params.js';
import { retrievalMetricColumns } from '../experiments/columns.js';
import { checkPath, TRAIN_FIELDS } from '../experiments/paths.js';
import type { LossRegistry } from '../losses/registry.js';
import { TRAIN_PARAM_SPECS } from '../train/config.js';
import type { Dimension } from './space.js';
import { STRATEGY_NAMES, type StrategyName } from './strategies.js';

type Obj = Record<string, unknown>;

/** The `tune:` block of an experiment file, validated. */
export interface TuneSpec {
  /** Trials per loss (and dataset): the same for every loss, so no loss is tuned harder. */
  budget: number;
  strategy: StrategyName;
  /** tpe: trials drawn at random before the model proposes. */
  initial: number;
  /** Trials proposed together from the same history: the parallelism of a model-based search. */
  batch: number;
  /** Seed of the search, of the fold dealing and of every trial's training. */
  seed: number;
  folds: number;
  /** Validation metric maximised, averaged over the folds (a results.csv metric name). */
  objective: string;
  /** The losses compared, in file order, each with its search space. */
  losses: Array<{ name: string; dims: Dimension[] }>;
}

export const DEFAULT_TEST_SEEDS = [0, 1, 2, 3, 4];
const TUNE_KEYS = ['budget', 'strategy', 'initial', 'batch', 'seed', 'folds', 'objective', 'losses'];
const RANGE_KEYS = ['min', 'max', 'log', 'values'];

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Objective names: the retrieval metrics of a cell, Recall@K for the experiment's own K. */
export function objectiveNames(ks: readonly number[]): string[] {
  // MAP@R, the default, is listed first.
  return ['mapAtR', ...retrievalMetricColumns(ks).filter((m) => m !== 'mapAtR')];
}

/** Why a key path may not be tuned, or null when it may. */
function untunable(path: string): string | null {
  if (path.startsWith('dataset.')) return 'the dataset decides which classes are held out for test; tuning it would choose them by their results';
  if (path.startsWith('eval.')) return 'the evaluation settings define the objective itself';
  if (path.startsWith('estimator.')) return 'the AP estimator does not change the trained model';
  if (path === 'loss.name') return 'the losses are the keys of tune.losses';
  if (path.startsWith('loss.params.') || path.startsWith('train.')) return null;
  return 'allowed: loss.params.<param>, train.<field>';
}

/**
 * Reads `tune` (the raw YAML value) against the loss registry: every loss known, every key a
 * tunable parameter of it, every range inside the parameter's own allowed range. `file` starts
 * each message, which names the key path, the value and what is allowed.
 */
export function readTuneSpec(raw: unknown, file: string, registry: LossRegistry, ks: readonly number[]): TuneSpec {
  const fail = (path: string, msg: string): never => {
    throw new UserError(`${file}: ${path}: ${msg}`);
  };
  if (!isObj(raw)) fail('tune', `${show(raw)} is not allowed; expected a mapping with keys ${TUNE_KEYS.join(', ')}`);
  const t = raw as Obj;
  for (const k of Object.keys(t)) if (!TUNE_KEYS.includes(k)) fail(`tune.${k}`, `unknown key; allowed: ${TUNE_KEYS.join(', ')}`);
  const int = (key: string, def: number, min: number, max = 1_000_000): number => {
    const v = t[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      fail(`tune.${key}`, `${show(v)} is not allowed; expected an integer from ${min} to ${max}`);
    return v as number;
  };
  const budget = int('budget', 20, 1, 100_000);
  const strategy = (t.strategy ?? 'tpe') as StrategyName;
  if (!STRATEGY_NAMES.includes(strategy)) fail('tune.strategy', `${show(t.strategy)} is not allowed; expected one of ${STRATEGY_NAMES.join(', ')}`);
  const initial = int('initial', 10, 1, 100_000);
  const batch = int('batch', 1, 1, 100_000);
  const seed = int('seed', 0, 0, 4294967295);
  const folds = int('folds', 4, 2, 1000);
  const objectives = objectiveNames(ks);
  const objective = t.objective === undefined ? 'mapAtR' : t.objective;
  if (typeof objective !== 'string' || !objectives.includes(objective)) {
    const hint = typeof objective === 'string' && /test/i.test(objective) ? ' (the objective is always measured on validation folds, never on test)' : '';
    fail('tune.objective', `${show(objective)} is not allowed; expected one of ${objectives.join(', ')}${hint}`);
  }
  if (t.losses === undefined) fail('tune.losses', 'missing; expected a mapping of loss names to { key path: range }');
  if (!isObj(t.losses) || Object.keys(t.losses).length === 0) {
    fail('tune.losses', `${show(t.losses)} is not allowed; expected a mapping of loss names to { key path: range }, at least one loss`);
  }
  const losses = Object.entries(t.losses as Obj).map(([name, space]) => {
    const at = `tune.losses.${name}`;
    if (!registry.has(name)) fail(at, `unknown loss; available: ${registry.names().join(', ')}`);
    if (space === null || space === undefined) return { name, dims: [] };
    if (!isObj(space)) fail(at, `${show(space)} is not allowed; expected a mapping of key paths to ranges ({ min, max, log } or { values })`);
    const dims = Object.entries(space as Obj).map(([key, range]) => readDimension(key, range, `${at}.${key}`, registry.get(name).params, name, file, fail));
    return { name, dims };
  });
  return { budget, strategy: strategy as StrategyName, initial, batch, seed, folds, objective: objective as string, losses };
}

function readDimension(
  key: string,
  range: unknown,
  at: string,
  lossParams: readonly ParamSpec[],
  loss: string,
  file: string,
  fail: (path: string, msg: string) => never,
): Dimension {
  checkPath(key, `${file}: ${at.slice(0, at.length - key.length)}`);
  const why = untunable(key);
  if (why) fail(at, `cannot be tuned: ${why}`);
  let spec: ParamSpec | undefined;
  if (key.startsWith('loss.params.')) {
    const p = key.slice('loss.params.'.length);
    spec = lossParams.find((s) => s.name === p);
    if (!spec) fail(at, `unknown parameter of loss ${loss}; allowed: ${lossParams.map((s) => s.name).join(', ') || 'none'}`);
  } else {
    const f = key.slice('train.'.length);
    if (!TRAIN_FIELDS.includes(f)) fail(at, `unknown key; allowed: ${TRAIN_FIELDS.map((x) => `train.${x}`).join(', ')}`);
    spec = TRAIN_PARAM_SPECS.find((s) => s.name === f);
  }
  const s = spec!;
  if (!isObj(range)) fail(at, `${show(range)} is not allowed; expected { min, max, log } or { values: [...] }`);
  const r = range as Obj;
  for (const k of Object.keys(r)) if (!RANGE_KEYS.includes(k)) fail(`${at}.${k}`, `unknown key; allowed: ${RANGE_KEYS.join(', ')}`);
  const checkValue = (v: unknown, path: string): ParamValue => {
    // The parameter's own rules (type and range), with this file's key path in the message.
    try {
      if (typeof v === 'string' && (s.type === 'number' || s.type === 'integer')) throw new UserError('');
      return coerceParam(s, v, 'x');
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      return fail(path, `${show(v)} is not allowed for ${key}; expected ${describeAllowed(s)}`);
    }
  };
  if (r.values !== undefined) {
    if (r.min !== undefined || r.max !== undefined || r.log !== undefined) fail(at, 'give either values or min/max (with log), not both');
    if (!Array.isArray(r.values) || r.values.length === 0) fail(`${at}.values`, `${show(r.values)} is not allowed; expected a non-empty list`);
    const values = (r.values as unknown[]).map((v, i) => checkValue(v, `${at}.values[${i}]`));
    if (new Set(values.map((v) => JSON.stringify(v))).size !== values.length)
      fail(`${at}.values`, `${show(r.values)} repeats a value; expected distinct values`);
    return { key, kind: 'choice', values };
  }
  if (s.type !== 'number' && s.type !== 'integer') {
    fail(at, `${key} is ${s.type === 'enum' ? `one of ${(s.values ?? []).join(', ')}` : `a ${s.type}`}; expected { values: [...] }`);
  }
  if (r.min === undefined || r.max === undefined) fail(at, 'expected { min, max } (and log: true for a scale parameter) or { values: [...] }');
  const min = checkValue(r.min, `${at}.min`) as number;
  const max = checkValue(r.max, `${at}.max`) as number;
  if (!(min < max)) fail(`${at}.max`, `${show(max)} is not allowed; expected a value above min ${min}`);
  const log = r.log === undefined ? false : r.log;
  if (typeof log !== 'boolean') fail(`${at}.log`, `${show(log)} is not allowed; expected true or false`);
  if (log && min <= 0) fail(`${at}.min`, `${min} is not allowed with log: true; expected a value > 0`);
  return { key, kind: 'range', min, max, log: log as boolean, integer: s.type === 'integer' };
}

/** The trials of each round: trial indices [start, end). Fixed by the strategy, never by the budget. */
export function roundOf(spec: Pick<TuneSpec, 'strategy' | 'initial' | 'batch'>, trial: number): number {
  if (spec.strategy === 'random') return 0;
  if (trial < spec.initial) return 0;
  return 1 + Math.floor((trial - spec.initial) / spec.batch);
}

/** First trial of a round (its proposals see the trials before it). */
export function roundStart(spec: Pick<TuneSpec, 'strategy' | 'initial' | 'batch'>, round: number): number {
  if (round === 0) return 0;
  return spec.initial + (round - 1) * spec.batch;
}
