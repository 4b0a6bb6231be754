import { UserError } from '../core/errors.js';
import { TRAIN_PARAM_SPECS } from '../train/config.js';
import { PROTOCOL_FIELDS } from './eval-protocol.js';

/** Training fields settable from an experiment (the seed comes from `seeds`). */
export const TRAIN_FIELDS: readonly string[] = TRAIN_PARAM_SPECS.map((s) => s.name).filter((n) => n !== 'seed');

export const EVAL_FIELDS: readonly string[] = ['k', 'estimateBatches', ...PROTOCOL_FIELDS];

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export const ALLOWED_PATHS_TEXT =
  `dataset.name, dataset.params.<param>, loss.name, loss.params.<param>, estimator.name, estimator.params.<param>, ` +
  `${TRAIN_FIELDS.map((f) => `train.${f}`).join(', ')}, ${EVAL_FIELDS.map((f) => `eval.${f}`).join(', ')}`;

/** Why `path` is not a settable key path, or null when it is. */
function pathProblem(path: string): string | null {
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
