import { describe, expect, it } from 'vitest';
import type { CellConfig } from '../../src/experiments/types.js';
import { createLossRegistry } from '../../src/losses/index.js';
import { loadExperiment } from '../../src/experiments/load.js';
import { readExperimentYaml, findExperimentFile } from '../../src/experiments/file.js';
import { readTuneSpec } from '../../src/tuning/spec.js';
import { fairnessPanel } from '../../src/tuning/fairness.js';

const cfg = (loss: string, train: Partial<CellConfig['train']> = {}): CellConfig => ({
  dataset: { name: 'synthetic', params: { classes: 10 } },
  train: {
    model: 'mlp',
    embeddingDim: 32,
    hidden: 64,
    lr: 0.001,
    weightDecay: 0,
    iterations: 100,
    batchSize: 32,
    perClass: 4,
    withReplacement: false,
    logEvery: 1,
    ...train,
  },
  loss: { name: loss, params: {} },
  eval: { k: [1], estimateBatches: 0 },
  seed: 0,
});

describe('fairness panel', () => {
  it('lists shared settings, accepts a learning rate tuned for every loss, flags the rest', () => {
    const rows = fairnessPanel(
      { a: cfg('a', { lr: 0.01 }), b: cfg('b', { lr: 0.002, embeddingDim: 64 }) },
      { a: ['train.lr'], b: ['train.lr'] },
      { a: 8, b: 8 },
    );
    const by = Object.fromEntries(rows.map((r) => [r.key, r]));
    expect(by['train.model']!.status).toBe('shared');
    expect(by['train.iterations']!.values).toEqual({ '*': '100' });
    expect(by['train.lr']!.status).toBe('tuned');
    expect(by['train.embeddingDim']!.status).toBe('differs');
    expect(by['train.embeddingDim']!.note).toBe('not a like-for-like comparison: embeddingDim differs');
    expect(by['tuning trials']!.status).toBe('shared');
  });

  it('flags a model setting tuned for one loss only, and unequal finished trials', () => {
    const rows = fairnessPanel({ a: cfg('a', { iterations: 300 }), b: cfg('b') }, { a: ['train.iterations'], b: [] }, { a: 8, b: 6 });
    const by = Object.fromEntries(rows.map((r) => [r.key, r]));
    expect(by['train.iterations']!.note).toMatch(/iterations differs \(tuned for a only; it changes the model or the training budget\)/);
    expect(by['tuning trials']!.status).toBe('differs');
  });
});

describe('shipped fair-compare', () => {
  it('tunes the four built-in losses with one budget, on class-disjoint synthetic data, tuning no model setting', () => {
    const registry = createLossRegistry();
    const file = findExperimentFile('fair-compare');
    const { cells } = loadExperiment(file, { registry });
    const spec = readTuneSpec((readExperimentYaml(file, file) as { tune: unknown }).tune, file, registry, [1, 2, 4, 8]);
    expect(spec.losses.map((l) => l.name).sort()).toEqual(['blackbox-ap', 'fast-ap', 'smooth-ap', 'triplet']);
    expect(cells.every((c) => c.config.dataset.params.split === 'class-disjoint')).toBe(true);
    for (const l of spec.losses) {
      expect(l.dims.length).toBeGreaterThan(0);
      for (const d of l.dims) expect(d.key === 'train.lr' || d.key.startsWith('loss.params.')).toBe(true);
    }
    expect(spec.folds).toBe(4);
  });
});
