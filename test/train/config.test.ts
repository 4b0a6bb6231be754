import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { DEFAULT_TRAIN_CONFIG, MODEL_PARAM_SPECS, OPTIM_PARAM_SPECS, resolveTrainConfig, TRAIN_PARAM_SPECS } from '../../src/train/config.js';

describe('train config', () => {
  it('the specs cover exactly the TrainConfig fields, with its defaults', () => {
    expect(TRAIN_PARAM_SPECS.map((s) => s.name).sort()).toEqual(Object.keys(DEFAULT_TRAIN_CONFIG).sort());
    expect(TRAIN_PARAM_SPECS).toEqual([...MODEL_PARAM_SPECS, ...OPTIM_PARAM_SPECS]);
    expect(resolveTrainConfig({})).toEqual(DEFAULT_TRAIN_CONFIG);
    expect(DEFAULT_TRAIN_CONFIG).toMatchObject({ model: 'mlp', embeddingDim: 128, batchSize: 224, perClass: 4, weightDecay: 4e-4, lr: 1e-3 });
  });

  it('coerces command-line strings', () => {
    const c = resolveTrainConfig({ lr: '0.01', batchSize: '64', model: 'linear', withReplacement: 'true' });
    expect(c).toMatchObject({ lr: 0.01, batchSize: 64, model: 'linear', withReplacement: true });
  });

  it.each([
    [{ batchSize: 1 }, 'train.batchSize: 1 is not allowed; expected an integer >= 2'],
    [{ batchSize: 6.5 }, 'train.batchSize: 6.5 is not allowed; expected an integer >= 2'],
    [{ perClass: 1 }, 'train.perClass: 1 is not allowed; expected an integer >= 2'],
    [{ lr: 0 }, 'train.lr: 0 is not allowed; expected a number > 0'],
    [{ lr: 'fast' }, 'train.lr: "fast" is not allowed; expected a number > 0'],
    [{ iterations: -1 }, 'train.iterations: -1 is not allowed; expected an integer >= 0'],
    [{ embeddingDim: 0 }, 'train.embeddingDim: 0 is not allowed; expected an integer >= 1'],
    [{ weightDecay: -0.1 }, 'train.weightDecay: -0.1 is not allowed; expected a number >= 0'],
    [{ model: 'resnet' }, 'train.model: "resnet" is not allowed; expected one of linear, mlp, convnet'],
    [{ logEvery: 0 }, 'train.logEvery: 0 is not allowed; expected an integer >= 1'],
    [
      { momentum: 0.9 },
      'train: unknown parameter "momentum"; allowed: model, embeddingDim, hidden, lr, weightDecay, iterations, batchSize, perClass, seed, withReplacement, logEvery',
    ],
  ])('%j is a UserError', (given, message) => {
    expect(() => resolveTrainConfig(given)).toThrow(UserError);
    expect(() => resolveTrainConfig(given)).toThrow(message);
  });
});
