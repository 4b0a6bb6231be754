import { show } from '../core/errors.js';
import { custom, list, map, object, paramSchema, required, text, value, type Json, type TypeOf } from '../core/shape.js';
import { CLAIMS_SHAPE } from '../claims/parse.js';
import type { ParamSpec } from '../core/params.js';
import { builtinDatasets } from '../data/index.js';
import type { LossPlugin } from '../losses/types.js';
import { TRAIN_PARAM_SPECS } from '../train/config.js';
import { TUNE_SHAPE } from '../tuning/schema.js';
import { EVAL_SHAPE, keyPathPattern, pathProblem, TRAIN_SHAPE } from './paths.js';

/**
 * The experiment file format, described once: src/experiments/load.ts validates files with it
 * (core/shape.ts `validate`) and `bench schema` turns it into experiments/experiment.schema.json
 * (`toJsonSchema`). What depends on more than one key stays in the loader: a plugin's name and
 * parameters (looked up in the registry), tolerance metric names (from the experiment's eval.k),
 * report.x (a swept column), P dividing B, duplicate cells; what claims name
 * (src/claims/parse.ts); tune's loss names and ranges (src/tuning/spec.ts).
 */

/** What the JSON Schema shows beside the built-ins: the losses on offer (built-in and --plugin). */
export interface FormatContext {
  losses: readonly LossPlugin[];
}

export const DEFAULT_SEEDS = [0];

/** A seed of `seeds`: the training seed of a cell, with the range train.seed allows. */
const SEED_SPEC = TRAIN_PARAM_SPECS.find((s) => s.name === 'seed')!;

/** A plugin parameter's value: checked against the plugin's own spec once the name is resolved (resolve.ts). */
const pluginParam = custom(() => null, {});

type Plugin = { name: string; description: string; params: readonly ParamSpec[] };

function paramsObject(specs: readonly ParamSpec[]): Json {
  return { type: 'object', additionalProperties: false, properties: Object.fromEntries(specs.map((s) => [s.name, paramSchema(s)])) };
}

/**
 * `{ name, params }` naming a plugin. The loader checks the name and the parameters against the
 * registry; the JSON Schema lists each known plugin with its own parameters, plus (when
 * `openNames`) any other name, for a loss loaded with --plugin.
 */
function pluginRef(kind: string, plugins: (ctx: FormatContext) => readonly Plugin[], openNames: boolean) {
  return object(
    {
      name: required(text(`the name of a ${kind}`), `the name of a ${kind}`),
      params: map('parameter names to values', pluginParam),
    },
    {
      json: (ctx: FormatContext): Json => {
        const known = plugins(ctx).map((p) => ({
          type: 'object',
          description: p.description,
          required: ['name'],
          additionalProperties: false,
          properties: { name: { const: p.name }, params: paramsObject(p.params) },
        }));
        const other = {
          type: 'object',
          description: `a ${kind} loaded with --plugin`,
          required: ['name'],
          additionalProperties: false,
          // draft-07 forbids an empty enum: with no known plugin, any name is "other".
          properties: { name: { type: 'string', ...(known.length ? { not: { enum: plugins(ctx).map((p) => p.name) } } : {}) }, params: { type: 'object' } },
        };
        return { anyOf: openNames ? [...known, other] : known };
      },
    },
  );
}

/** A value a sweep, a dataset entry or --set assigns to a key path: a scalar, or a list for eval.k alone. */
const leaf = custom<unknown>(
  (v, key) => {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return null;
    if (key === 'eval.k' && Array.isArray(v)) return null;
    return `${show(v)} is not allowed; expected a number, string or boolean`;
  },
  { anyOf: [{ type: ['number', 'string', 'boolean'] }, { type: 'array', items: { type: 'integer', minimum: 1 } }] },
);

const WHAT_SETTINGS = 'key paths (e.g. loss.params.tau) to values';

/** A mapping of key paths to values (sweep.list entries). */
const settings = map(WHAT_SETTINGS, leaf, { key: (k) => pathProblem(k), keyPattern: keyPathPattern(), nonEmpty: 'at least one key path' });

const datasetEntry = object({
  name: required(text('the name of a dataset', { json: () => ({ enum: builtinDatasets.map((d) => d.name) }) }), 'the name of a dataset'),
  params: map('parameter names to values', pluginParam),
  // A dataset's own settings are its name and params: `set` is for the rest of the cell.
  set: map(WHAT_SETTINGS, leaf, {
    key: (k, at) => {
      const entry = at.replace(/\.set$/, '');
      return pathProblem(k) ?? (k.startsWith('dataset.') ? `a dataset's own settings go in ${entry}.name and ${entry}.params` : null);
    },
    keyPattern: keyPathPattern(['loss', 'estimator']),
  }),
});

const tolerance = object(
  {
    abs: value<number>({ type: 'number', min: 0, default: 0, doc: 'allowed absolute difference' }),
    rel: value<number>({ type: 'number', min: 0, default: 0, doc: 'allowed difference relative to the baseline value' }),
  },
  { nonEmpty: 'abs and/or rel' },
);

export const experimentFormat = object({
  description: text('a string'),
  base: required(
    object({
      dataset: pluginRef('dataset', () => builtinDatasets, false),
      train: TRAIN_SHAPE,
      loss: required(
        pluginRef('loss', (ctx) => ctx.losses, true),
        '{ name: <loss>, params: {...} }',
      ),
      estimator: pluginRef('loss', (ctx) => ctx.losses.filter((l) => l.apConvention !== undefined), true),
      eval: EVAL_SHAPE,
    }),
    '{ dataset, train, loss, eval }',
  ),
  seeds: list('integers >= 0', value<number>(SEED_SPEC), {
    nonEmpty: 'at least one seed',
    distinct: 'seed',
    default: DEFAULT_SEEDS,
  }),
  datasets: list('datasets ({ name, params, set })', datasetEntry, { nonEmpty: 'at least one dataset, or leave it out and give base.dataset' }),
  sweep: object({
    grid: map('key paths to lists of values', list('values', leaf, { nonEmpty: 'at least one value', distinct: 'value' }), {
      key: (k) => pathProblem(k),
      keyPattern: keyPathPattern(),
    }),
    list: list('mappings of key paths to values', settings),
    exclude: list(
      'mappings of key paths to values',
      map('key paths to values', leaf, {
        key: (k) => (k === 'seed' ? null : pathProblem(k)),
        keyPattern: `^seed$|${keyPathPattern()}`,
        nonEmpty: 'at least one key path',
      }),
    ),
  }),
  tolerances: map('metric names to { abs, rel }', tolerance),
  report: object({ x: text('a swept key path'), logX: value<boolean>({ type: 'boolean', default: false, doc: 'a logarithmic x axis' }) }),
  claims: CLAIMS_SHAPE,
  // Read further by src/tuning/spec.ts; the cells of the file are then the tuning's base configuration.
  tune: TUNE_SHAPE,
});

/** An experiment file as the format accepts it (before plugins and key paths are resolved). */
export type ExperimentFile = TypeOf<typeof experimentFormat>;
