/**
 * rankbench's public API: the one entry point of the package (`import ... from 'rankbench'`).
 * Everything not exported here is internal and may change without notice.
 *
 * - Write a loss plugin: `defineLoss` (typed parameters), `fusedCompute`, and the types below.
 * - Use a built-in loss in your own tfjs training: `smoothAp`, `triplet`, `fastAp`, `blackboxAp`.
 * - Evaluate embeddings: `evaluate` (the numbers `bench metrics` prints).
 * - Run or inspect an experiment file: `runExperiment`, `loadExperiment`; one with `tune:` (a fair
 *   comparison of losses): `runTuning`.
 */

// Loss plugins.
export { defineLoss, fusedCompute } from './losses/types.js';
export type {
  BooleanParamSpec,
  EnumParamSpec,
  KernelContext,
  KernelOutput,
  LossCompute,
  LossContext,
  LossDefinition,
  LossKernel,
  LossOutput,
  LossPlugin,
  NumberParamSpec,
  ParamSpecOf as LossParamSpec,
  ParamsOf,
  ParamValueOf,
  StringParamSpec,
} from './losses/types.js';
export type { Params, ParamValue } from './core/params.js';
export { Rng } from './core/rng.js';
export { UserError } from './core/errors.js';
export { PluginError } from './losses/plugin-errors.js';

// Built-in losses (plugin objects: `compute` for tfjs training, `kernel` for float64).
export { default as smoothAp } from './losses/smooth-ap.js';
export { default as triplet } from './losses/triplet.js';
export { default as fastAp } from './losses/fast-ap.js';
export { default as blackboxAp } from './losses/blackbox-ap.js';
export { builtinLosses } from './losses/index.js';

// Evaluation.
export { evaluate } from './api/evaluate.js';
export type { EmbeddingMatrix, Embeddings, EvaluateOptions, EvaluateResult, TensorLike } from './api/evaluate.js';

// Experiments.
export { runExperiment } from './experiments/runner.js';
export type { RunOptions, RunResult } from './experiments/runner.js';
export { loadExperiment } from './api/experiments.js';
export type { LoadExperimentOptions } from './api/experiments.js';
export type { LoadedExperiment } from './experiments/load.js';
export { runTuning } from './tuning/driver.js';
export type { TuneOptions, TuneResult } from './tuning/driver.js';
export type { Cell, CellConfig, CellResult, ResolvedExperiment } from './experiments/types.js';
export type { RetrievalMetrics } from './metrics/types.js';
