import { STRATEGY_NAMES } from './strategies.js';

/** The JSON Schema of `tune:` (the loader, src/tuning/spec.ts, remains the judge of ranges and names). */
export function tuneSchema(): Record<string, unknown> {
  const range = {
    type: 'object',
    additionalProperties: false,
    description: '{ min, max, log } for a number (log: true for scale parameters such as tau, margin, bins, lambda, lr), or { values: [...] }',
    properties: { min: { type: 'number' }, max: { type: 'number' }, log: { type: 'boolean' }, values: { type: 'array', minItems: 1 } },
  };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['losses'],
    description: 'tune each loss on class-disjoint validation folds of the train classes, then rerun the best configuration on test',
    properties: {
      budget: { type: 'integer', minimum: 1, default: 20, description: 'trials per loss, the same for every loss' },
      strategy: { enum: [...STRATEGY_NAMES], default: 'tpe', description: 'random search, or a model-based search (TPE) proposing from the trials so far' },
      initial: { type: 'integer', minimum: 1, default: 10, description: 'tpe: random trials before the model proposes' },
      batch: { type: 'integer', minimum: 1, default: 1, description: 'tpe: trials proposed together (run in parallel)' },
      seed: { type: 'integer', minimum: 0, default: 0, description: "seed of the search, the folds and the trials' training" },
      folds: { type: 'integer', minimum: 2, default: 4, description: 'class-disjoint validation folds of the train classes' },
      objective: { type: 'string', default: 'mapAtR', description: 'validation metric maximised, averaged over the folds' },
      losses: {
        type: 'object',
        minProperties: 1,
        description: 'loss name → { key path (loss.params.<p> or train.<field>): range }',
        additionalProperties: {
          anyOf: [
            { type: 'null' },
            { type: 'object', propertyNames: { pattern: '^(loss\\.params\\.[A-Za-z_][A-Za-z0-9_-]*|train\\.[A-Za-z]+)$' }, additionalProperties: range },
          ],
        },
      },
    },
  };
}
