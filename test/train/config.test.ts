import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN_CONFIG, MODEL_PARAM_SPECS, OPTIM_PARAM_SPECS, TRAIN_PARAM_SPECS } from '../../src/train/config.js';

// A bad train value is refused by the experiment loader: test/api/experiments.test.ts.
describe('train config', () => {
  it('the specs cover exactly the TrainConfig fields, with its defaults', () => {
    expect(TRAIN_PARAM_SPECS.map((s) => s.name).sort()).toEqual(Object.keys(DEFAULT_TRAIN_CONFIG).sort());
    expect(TRAIN_PARAM_SPECS).toEqual([...MODEL_PARAM_SPECS, ...OPTIM_PARAM_SPECS]);
    for (const s of TRAIN_PARAM_SPECS) expect(s.default).toBe(DEFAULT_TRAIN_CONFIG[s.name as keyof typeof DEFAULT_TRAIN_CONFIG]);
    expect(DEFAULT_TRAIN_CONFIG).toMatchObject({ model: 'mlp', embeddingDim: 128, batchSize: 224, perClass: 4, weightDecay: 4e-4, lr: 1e-3 });
  });
});
