import type { ParamSpec } from '../core/params.js';
import type { ModelKind, TrainConfig } from './types.js';

export const MODEL_KINDS: readonly ModelKind[] = ['linear', 'mlp', 'convnet'];

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  model: 'mlp',
  embeddingDim: 128,
  hidden: 256,
  // The paper trains a pretrained ResNet-50 with lr 1e-5; our heads start from random weights and
  // are tiny, so 1e-5 barely moves them in a few hundred steps. 1e-3 is Adam's usual default and
  // trains these heads within the iteration budgets of the experiments.
  lr: 1e-3,
  weightDecay: 4e-4,
  iterations: 200,
  batchSize: 224,
  perClass: 4,
  seed: 0,
  withReplacement: false,
  logEvery: 1,
};

const D = DEFAULT_TRAIN_CONFIG;

/** The model's fields of a TrainConfig. */
export const MODEL_PARAM_SPECS: readonly ParamSpec[] = [
  { name: 'model', type: 'enum', values: MODEL_KINDS, default: D.model, doc: 'embedding model: linear or mlp head on the features, convnet for 28x28 images' },
  { name: 'embeddingDim', type: 'integer', min: 1, default: D.embeddingDim, doc: 'embedding dimension (output is L2-normalised)' },
  { name: 'hidden', type: 'integer', min: 1, default: D.hidden, doc: 'hidden width of the mlp head' },
];

/** The optimisation fields of a TrainConfig. */
export const OPTIM_PARAM_SPECS: readonly ParamSpec[] = [
  { name: 'lr', type: 'number', min: 0, minExclusive: true, default: D.lr, doc: 'Adam learning rate' },
  { name: 'weightDecay', type: 'number', min: 0, default: D.weightDecay, doc: 'L2 weight decay added to the gradient (PyTorch Adam weight_decay)' },
  { name: 'iterations', type: 'integer', min: 0, default: D.iterations, doc: 'training steps (0 = the untrained model)' },
  { name: 'batchSize', type: 'integer', min: 2, default: D.batchSize, doc: 'batch size B (a multiple of perClass)' },
  { name: 'perClass', type: 'integer', min: 2, default: D.perClass, doc: "samples per class in a batch (the paper's P)" },
  { name: 'seed', type: 'integer', min: 0, max: 4294967295, default: D.seed, doc: 'seed of the initialisation, batches and loss randomness' },
  { name: 'withReplacement', type: 'boolean', default: D.withReplacement, doc: 'sample a class with fewer than perClass items with replacement' },
  { name: 'logEvery', type: 'integer', min: 1, default: D.logEvery, doc: 'record loss and AP estimate every this many steps' },
];

/** Every field of a TrainConfig: the rules the experiment loader checks each `train.*` value against. */
export const TRAIN_PARAM_SPECS: readonly ParamSpec[] = [...MODEL_PARAM_SPECS, ...OPTIM_PARAM_SPECS];
