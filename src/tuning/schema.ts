import { custom, list, map, object, orNull, required, value, type TypeOf } from '../core/shape.js';
import { TRAIN_FIELDS } from '../experiments/paths.js';
import { STRATEGY_NAMES, type StrategyName } from './strategies.js';

/**
 * A search range: `{ min, max, log }` for a number, `{ values }` for anything. Whether min, max
 * and the values fit the parameter, and which form the parameter needs, is checked by
 * src/tuning/spec.ts, which knows the parameter.
 */
const RANGE = object(
  {
    min: custom(() => null, { type: 'number' }),
    max: custom(() => null, { type: 'number' }),
    log: value<boolean>({ type: 'boolean', default: false, doc: 'sample on a log scale (scale parameters: tau, margin, bins, lambda, lr)' }),
    values: list(
      'values',
      custom(() => null, {}),
      { nonEmpty: 'at least one value' },
    ),
  },
  { doc: '{ min, max, log } for a number (log: true for scale parameters such as tau, margin, bins, lambda, lr), or { values: [...] }' },
);

export type Range = TypeOf<typeof RANGE>;

/**
 * `tune:` of an experiment file, described once: the loader and src/tuning/spec.ts validate with
 * it and `bench schema` writes it. spec.ts then checks what needs the registry and the other keys
 * (loss names, tunable key paths, ranges within each parameter's own, the objective's metric).
 */
export const TUNE_SHAPE = object(
  {
    budget: value<number>({ type: 'integer', min: 1, max: 100_000, default: 20, doc: 'trials per loss, the same for every loss' }),
    strategy: value<StrategyName>({
      type: 'enum',
      values: STRATEGY_NAMES,
      default: 'tpe',
      doc: 'random search, or a model-based search (TPE) proposing from the trials so far',
    }),
    initial: value<number>({ type: 'integer', min: 1, max: 100_000, default: 10, doc: 'tpe: random trials before the model proposes' }),
    batch: value<number>({ type: 'integer', min: 1, max: 100_000, default: 1, doc: 'tpe: trials proposed together (run in parallel)' }),
    seed: value<number>({ type: 'integer', min: 0, max: 4294967295, default: 0, doc: "seed of the search, the folds and the trials' training" }),
    folds: value<number>({ type: 'integer', min: 2, max: 1000, default: 4, doc: 'class-disjoint validation folds of the train classes' }),
    objective: value<string>({ type: 'string', default: 'mapAtR', doc: 'validation metric maximised, averaged over the folds' }),
    losses: required(
      map(
        'loss names to { key path: range }',
        orNull(
          map('key paths to ranges ({ min, max, log } or { values })', RANGE, {
            keyPattern: `^loss\\.params\\.[A-Za-z_][A-Za-z0-9_-]*$|^train\\.(${TRAIN_FIELDS.join('|')})$`,
          }),
        ),
        { nonEmpty: 'at least one loss', doc: 'loss name → { key path (loss.params.<p> or train.<field>): range }' },
      ),
      'a mapping of loss names to { key path: range }',
    ),
  },
  {
    fill: true,
    doc: 'tune each loss on class-disjoint validation folds of the train classes, then rerun the best configuration on test',
  },
);
