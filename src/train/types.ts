import type { Params } from '../core/params.js';

export type ModelKind = 'linear' | 'mlp' | 'convnet';

export interface TrainConfig {
  model: ModelKind;
  embeddingDim: number;
  /** Hidden width of the mlp head. */
  hidden: number;
  lr: number;
  weightDecay: number;
  iterations: number;
  batchSize: number;
  /** Samples per class in a PK batch (the paper's P). */
  perClass: number;
  seed: number;
  /** Allow a class with fewer than P samples by sampling it with replacement. */
  withReplacement: boolean;
  /** Record the curve every this many steps (1 = every step). */
  logEvery: number;
}

export interface StepRecord {
  step: number;
  loss: number;
  /** Mean per-query AP estimate of the batch, for AP surrogates. */
  apEstimate?: number;
}

export interface TrainProgress {
  step: number;
  total: number;
  loss: number;
}

export type { Params };
