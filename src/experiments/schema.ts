import { toJsonSchema, type Json } from '../core/shape.js';
import type { LossPlugin } from '../losses/types.js';
import { experimentFormat, type FormatContext } from './format.js';

/**
 * The experiment file format as a JSON Schema (draft-07), written from the description the
 * loader validates with (format.ts), so an editor (yaml-language-server's
 * `# yaml-language-server: $schema=…` comment) offers the same keys, defaults and ranges that
 * `bench run` accepts. The loader remains the judge of what a schema cannot say (key paths that
 * must name a real parameter, P dividing B, …).
 */
export function experimentSchema(losses: readonly LossPlugin[]): Json {
  const ctx: FormatContext = { losses };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://rankbench.dev/experiment.schema.json',
    title: 'rankbench experiment',
    ...toJsonSchema(experimentFormat, ctx),
  };
}
