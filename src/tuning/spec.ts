import { UserError, show } from '../core/errors.js';
import { coerceParam, describeAllowed, type ParamSpec, type ParamValue } from '../core/params.js';
import { validate } from '../core/shape.js';
import { retrievalMetricColumns } from '../experiments/columns.js';
import { checkPath, TRAIN_FIELDS } from '../experiments/paths.js';
import type { LossRegistry } from '../losses/registry.js';
import { TRAIN_PARAM_SPECS } from '../train/config.js';
import type { Dimension } from './space.js';
import { TUNE_SHAPE, type Range } from './schema.js';
import type { StrategyName } from './strategies.js';

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
  const t = validate(TUNE_SHAPE, raw, file, 'tune');
  const objectives = objectiveNames(ks);
  if (!objectives.includes(t.objective)) {
    const hint = /test/i.test(t.objective) ? ' (the objective is always measured on validation folds, never on test)' : '';
    fail('tune.objective', `${show(t.objective)} is not allowed; expected one of ${objectives.join(', ')}${hint}`);
  }
  const losses = Object.entries(t.losses).map(([name, space]) => {
    const at = `tune.losses.${name}`;
    if (!registry.has(name)) fail(at, `unknown loss; available: ${registry.names().join(', ')}`);
    const dims = Object.entries(space ?? {}).map(([key, range]) => readDimension(key, range, `${at}.${key}`, registry.get(name).params, name, file, fail));
    return { name, dims };
  });
  const { budget, strategy, initial, batch, seed, folds, objective } = t;
  return { budget, strategy, initial, batch, seed, folds, objective, losses };
}

function readDimension(
  key: string,
  r: Range,
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
    const values = r.values.map((v, i) => checkValue(v, `${at}.values[${i}]`));
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
  const log = r.log ?? false;
  if (log && min <= 0) fail(`${at}.min`, `${min} is not allowed with log: true; expected a value > 0`);
  return { key, kind: 'range', min, max, log, integer: s.type === 'integer' };
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

/** Every round's trials [start, end) up to the budget: the trials that run together, in order. */
export function roundBounds(spec: Pick<TuneSpec, 'strategy' | 'initial' | 'batch' | 'budget'>): Array<[number, number]> {
  const last = roundOf(spec, spec.budget - 1);
  return Array.from({ length: last + 1 }, (_, r) => [roundStart(spec, r), r === last ? spec.budget : roundStart(spec, r + 1)]);
}
