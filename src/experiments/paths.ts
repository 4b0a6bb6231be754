import { UserError, show } from '../core/errors.js';
import type { ParamSpec } from '../core/params.js';
import { custom, object, value, type Shape } from '../core/shape.js';
import { TRAIN_PARAM_SPECS } from '../train/config.js';
import { PROTOCOL_SPECS } from './eval-protocol.js';
import type { EvalSpec } from './types.js';

/** Training fields settable from an experiment (the seed comes from `seeds`). */
const TRAIN_SPECS = TRAIN_PARAM_SPECS.filter((s) => s.name !== 'seed');

export const DEFAULT_EVAL: EvalSpec = { k: [1, 2, 4, 8], estimateBatches: 4 };

export const ESTIMATE_BATCHES_SPEC: ParamSpec = {
  name: 'estimateBatches',
  type: 'integer',
  min: 0,
  max: 10_000,
  default: DEFAULT_EVAL.estimateBatches,
  doc: 'PK test batches for the AP estimate (0 = none)',
};

export const K_ALLOWED = 'a non-empty list of integers >= 1';

/** Whether a value is a valid eval.k: Recall@K cut-offs, at least one. */
export function validK(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1);
}

/** `base.train` of an experiment file: one key per training field, each checked by its spec. */
export const TRAIN_SHAPE = object(Object.fromEntries(TRAIN_SPECS.map((s) => [s.name, value(s)])));

/** `base.eval`: the Recall@K list, the AP-estimate batches and the evaluation protocol's fields. */
export const EVAL_SHAPE = object({
  k: custom<number[]>(
    (v) => (validK(v) ? null : `${show(v)} is not allowed; expected ${K_ALLOWED}`),
    { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1 },
    { doc: 'Recall@K cut-offs', default: DEFAULT_EVAL.k },
  ),
  estimateBatches: value<number>(ESTIMATE_BATCHES_SPEC),
  ...Object.fromEntries(PROTOCOL_SPECS.map((s) => [s.name, value(s)])),
});

const fieldsOf = (shape: Shape<unknown>): string[] => (shape.kind === 'object' ? Object.keys(shape.fields) : []);

export const TRAIN_FIELDS: readonly string[] = fieldsOf(TRAIN_SHAPE);

export const EVAL_FIELDS: readonly string[] = fieldsOf(EVAL_SHAPE);

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export const ALLOWED_PATHS_TEXT =
  `dataset.name, dataset.params.<param>, loss.name, loss.params.<param>, estimator.name, estimator.params.<param>, ` +
  `${TRAIN_FIELDS.map((f) => `train.${f}`).join(', ')}, ${EVAL_FIELDS.map((f) => `eval.${f}`).join(', ')}`;

/**
 * The settable key paths as a regular expression (for the JSON Schema), from the same lists as
 * pathProblem; `plugins` are the heads whose name and params may be set.
 */
export function keyPathPattern(plugins: readonly string[] = ['dataset', 'loss', 'estimator']): string {
  return (
    `^(${plugins.join('|')})\\.(name|params\\.${PARAM_NAME.source.slice(1, -1)})$|` +
    `^train\\.(${TRAIN_FIELDS.join('|')})$|^eval\\.(${EVAL_FIELDS.join('|')})$`
  );
}

/** Why `path` is not a settable key path, or null when it is. */
export function pathProblem(path: string): string | null {
  const seg = path.split('.');
  const [head, second, third] = seg;
  if (head === 'dataset' || head === 'loss' || head === 'estimator') {
    if (seg.length === 2 && second === 'name') return null;
    if (seg.length === 3 && second === 'params' && PARAM_NAME.test(third!)) return null;
    return `expected ${head}.name or ${head}.params.<param>`;
  }
  if (head === 'train') {
    if (seg.length === 2 && TRAIN_FIELDS.includes(second!)) return null;
    if (second === 'seed') return 'the training seed comes from "seeds" (or --seeds)';
    return `allowed: ${TRAIN_FIELDS.map((f) => `train.${f}`).join(', ')}`;
  }
  if (head === 'eval') {
    if (seg.length === 2 && EVAL_FIELDS.includes(second!)) return null;
    return `allowed: ${EVAL_FIELDS.map((f) => `eval.${f}`).join(', ')}`;
  }
  if (head === 'seed') return 'seeds are given by "seeds" (or --seeds), not swept';
  return `allowed: ${ALLOWED_PATHS_TEXT}`;
}

/**
 * Throws a UserError unless `path` names a settable leaf of a cell configuration. `prefix` is
 * what precedes the path in the message, e.g. "experiments/x.yaml: sweep.grid." or "--set ".
 */
export function checkPath(path: string, prefix: string): void {
  const why = pathProblem(path);
  if (why) throw new UserError(`${prefix}${path}: unknown key; ${why}`);
}

/** The value at a dotted path of a nested object, or undefined. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}
