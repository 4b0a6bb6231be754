import { KEYS, KINDS } from '../claims/parse.js';
import { VERDICTS } from '../claims/types.js';
import type { ParamSpec } from '../core/params.js';
import { builtinDatasets } from '../data/index.js';
import type { LossPlugin } from '../losses/types.js';
import { TRAIN_PARAM_SPECS } from '../train/config.js';
import { tuneSchema } from '../tuning/schema.js';
import { PROTOCOL_SPECS } from './eval-protocol.js';
import { DEFAULT_EVAL } from './resolve.js';

type Json = Record<string, unknown>;

/** The JSON Schema of one plugin parameter, from the same spec the loader validates with. */
export function paramSchema(spec: ParamSpec): Json {
  const out: Json = { description: spec.doc, default: spec.default };
  switch (spec.type) {
    case 'boolean':
      return { ...out, type: 'boolean' };
    case 'string':
      return { ...out, type: 'string' };
    case 'enum':
      return { ...out, enum: [...(spec.values ?? [])] };
    default:
      out.type = spec.type;
      if (spec.min !== undefined) out[spec.minExclusive ? 'exclusiveMinimum' : 'minimum'] = spec.min;
      if (spec.max !== undefined) out.maximum = spec.max;
      return out;
  }
}

function paramsObject(specs: readonly ParamSpec[]): Json {
  return { type: 'object', additionalProperties: false, properties: Object.fromEntries(specs.map((s) => [s.name, paramSchema(s)])) };
}

/** `{ name, params }` for each known plugin, plus any other name (a loss from --plugin). */
function pluginRef(kind: string, plugins: ReadonlyArray<{ name: string; description: string; params: readonly ParamSpec[] }>, openNames: boolean): Json {
  const known = plugins.map((p) => ({
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
    properties: { name: { type: 'string', not: { enum: plugins.map((p) => p.name) } }, params: { type: 'object' } },
  };
  return { anyOf: openNames ? [...known, other] : known };
}

const keyPath = '^(dataset|loss|estimator)\\.(name|params\\.[A-Za-z_][A-Za-z0-9_-]*)$|^(train|eval)\\.[A-Za-z]+$';
const scalar = { type: ['number', 'string', 'boolean'] };
const leaf = { anyOf: [scalar, { type: 'array', items: { type: 'integer', minimum: 1 } }] };

/**
 * The experiment file format as a JSON Schema (draft-07), built from the specs the loader uses,
 * so an editor (yaml-language-server's `# yaml-language-server: $schema=…` comment) offers the
 * same keys, defaults and ranges that `bench run` accepts. The loader remains the judge of what
 * a schema cannot say (key paths that must name a real parameter, P dividing B, …).
 */
export function experimentSchema(losses: readonly LossPlugin[]): Json {
  const train = paramsObject(TRAIN_PARAM_SPECS.filter((s) => s.name !== 'seed'));
  const evalSchema = {
    type: 'object',
    additionalProperties: false,
    properties: {
      k: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, default: DEFAULT_EVAL.k, description: 'Recall@K cut-offs' },
      estimateBatches: { type: 'integer', minimum: 0, default: DEFAULT_EVAL.estimateBatches, description: 'PK test batches for the AP estimate (0 = none)' },
      ...Object.fromEntries(PROTOCOL_SPECS.map((s) => [s.name, paramSchema(s)])),
    },
  };
  const settings = { type: 'object', propertyNames: { pattern: keyPath }, additionalProperties: leaf };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://rankbench.dev/experiment.schema.json',
    title: 'rankbench experiment',
    type: 'object',
    additionalProperties: false,
    required: ['base'],
    properties: {
      description: { type: 'string' },
      base: {
        type: 'object',
        additionalProperties: false,
        required: ['loss'],
        properties: {
          dataset: pluginRef('dataset', builtinDatasets, false),
          train,
          loss: pluginRef('loss', losses, true),
          estimator: pluginRef(
            'loss',
            losses.filter((l) => l.apConvention !== undefined),
            true,
          ),
          eval: evalSchema,
        },
      },
      seeds: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 4294967295 }, minItems: 1, uniqueItems: true, default: [0] },
      datasets: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { enum: builtinDatasets.map((d) => d.name) }, params: { type: 'object' }, set: settings },
        },
      },
      sweep: {
        type: 'object',
        additionalProperties: false,
        properties: {
          grid: { type: 'object', propertyNames: { pattern: keyPath }, additionalProperties: { type: 'array', minItems: 1, items: leaf } },
          list: { type: 'array', items: { ...settings, minProperties: 1 } },
          exclude: { type: 'array', items: { type: 'object', minProperties: 1, additionalProperties: leaf } },
        },
      },
      tolerances: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          properties: { abs: { type: 'number', minimum: 0 }, rel: { type: 'number', minimum: 0 } },
        },
      },
      report: { type: 'object', additionalProperties: false, properties: { x: { type: 'string' }, logX: { type: 'boolean' } } },
      claims: {
        type: 'array',
        description: 'findings to test on every run: each a sentence and exactly one of best, trend, better',
        items: {
          type: 'object',
          required: ['text'],
          additionalProperties: false,
          minProperties: 2,
          properties: {
            text: { type: 'string' },
            ...Object.fromEntries(
              KINDS.map((k) => [k, { type: 'object', additionalProperties: false, properties: Object.fromEntries(KEYS[k].map((f) => [f, {}])) }]),
            ),
            where: { type: 'object' },
            pin: { enum: [...VERDICTS] },
          },
        },
      },
      tune: tuneSchema(),
    },
  };
}
