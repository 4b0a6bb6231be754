import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { UserError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { LoadedDataset } from '../../src/data/types.js';
import type { LossPlugin } from '../../src/losses/types.js';
import { train } from '../../src/train/train.js';
import { cfg, clusterData, contrastiveLoss, meanAP, sameBits } from './helpers.js';

const DATA = clusterData({ classes: 16, perClass: 6, dim: 20, signal: 5, noise: 2, seed: 1 });
const SMALL = { model: 'mlp', hidden: 32, embeddingDim: 8, batchSize: 16, perClass: 4, lr: 1e-2 } as const;

/** A loss that turns non-finite at step `at`, still connected to the embeddings. */
function failingLoss(value: number): LossPlugin {
  let calls = 0;
  return {
    name: 'test-fails',
    description: 'non-finite at a given step',
    params: [{ name: 'at', type: 'integer', default: 3, doc: 'step that fails' }],
    compute(emb, labels, params, ctx) {
      calls++;
      const out = contrastiveLoss.compute(emb, labels, { margin: 0.5 }, ctx);
      return { loss: calls === params['at'] ? (tf.mul(out.loss, value) as tf.Scalar) : out.loss };
    },
  };
}

describe('train on wasm', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('same seed: bit-identical curve and embeddings; another seed: different', async () => {
    const run = async (seed: number): Promise<{ curve: unknown; emb: Float32Array }> => {
      const m = await train(cfg({ ...SMALL, iterations: 12, seed }), DATA, contrastiveLoss, { margin: 0.5 });
      const out = { curve: m.curve, emb: m.embed(DATA.test) };
      m.dispose();
      return out;
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a.curve).toEqual(b.curve);
    expect(sameBits(a.emb, b.emb)).toBe(true);
    expect(a.curve).not.toEqual(c.curve);
    expect(sameBits(a.emb, c.emb)).toBe(false);
  });

  it('training with a test-local contrastive loss raises the test mAP above the untrained model', async () => {
    const data = clusterData({ classes: 32, perClass: 6, dim: 20, signal: 5, noise: 1, seed: 1 });
    const base = cfg({ ...SMALL, batchSize: 32, iterations: 0 });
    const untrained = await train(base, data, contrastiveLoss, { margin: 0.5 });
    const before = meanAP(untrained.embed(data.test), data.test, SMALL.embeddingDim);
    untrained.dispose();
    const trained = await train({ ...base, iterations: 100 }, data, contrastiveLoss, { margin: 0.5 });
    const after = meanAP(trained.embed(data.test), data.test, SMALL.embeddingDim);
    trained.dispose();
    // ~0.10 → ~0.55 when written.
    expect(after).toBeGreaterThan(before + 0.3);
  });

  it('the number of live tensors does not grow with the steps, and dispose frees the model', async () => {
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    const m = await train(
      cfg({ ...SMALL, iterations: 6 }),
      DATA,
      contrastiveLoss,
      { margin: 0.5 },
      {
        onStep: () => counts.push(tf.memory().numTensors),
      },
    );
    expect(new Set(counts).size).toBe(1);
    m.embed(DATA.test);
    m.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('records every logEvery steps plus the first and last; onStep sees every step', async () => {
    const seen: Array<[number, number]> = [];
    const m = await train(
      cfg({ ...SMALL, iterations: 7, logEvery: 3 }),
      DATA,
      contrastiveLoss,
      { margin: 0.5 },
      {
        onStep: (p) => seen.push([p.step, p.total]),
      },
    );
    expect(m.curve.map((r) => r.step)).toEqual([1, 3, 6, 7]);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7].map((s) => [s, 7]));
    expect(m.curve.every((r) => Number.isFinite(r.loss) && r.apEstimate === undefined)).toBe(true);
    expect(m.trainMs).toBeGreaterThan(0);
    m.dispose();
  });

  it('apEstimate is the mean of the per-query estimates that are not NaN', async () => {
    const withAp: LossPlugin = {
      ...contrastiveLoss,
      name: 'test-ap',
      compute(emb, labels, params, ctx) {
        const out = contrastiveLoss.compute(emb, labels, params, ctx);
        const ap = new Float64Array(labels.length).fill(0.25);
        ap[0] = NaN;
        ap[1] = 1;
        return { ...out, apPerQuery: ap };
      },
    };
    const m = await train(cfg({ ...SMALL, iterations: 2 }), DATA, withAp, { margin: 0.5 });
    const b = SMALL.batchSize;
    const want = (1 + 0.25 * (b - 2)) / (b - 1);
    for (const r of m.curve) expect(r.apEstimate).toBeCloseTo(want, 12);
    m.dispose();
  });

  it('a NaN or infinite loss stops the run naming the step, the loss and its parameters', async () => {
    const start = tf.memory().numTensors;
    await expect(train(cfg({ ...SMALL, iterations: 10 }), DATA, failingLoss(NaN), { at: 3 })).rejects.toThrow(
      new UserError('non-finite loss NaN at step 3 (loss test-fails {"at":3})'),
    );
    await expect(train(cfg({ ...SMALL, iterations: 10 }), DATA, failingLoss(Infinity), { at: 5 })).rejects.toThrow(
      /^non-finite loss Infinity at step 5 \(loss test-fails \{"at":5\}\)$/,
    );
    // The failed runs left nothing behind.
    expect(tf.memory().numTensors).toBe(start);
  });

  it('a loss value not computed from the embeddings is a UserError, not a silent no-op', async () => {
    const detached: LossPlugin = { ...contrastiveLoss, name: 'test-detached', compute: () => ({ loss: tf.scalar(0) }) };
    await expect(train(cfg({ ...SMALL, iterations: 3 }), DATA, detached, {})).rejects.toThrow(
      /^loss test-detached returned a value that does not depend on the embeddings at step 1;/,
    );
  });

  it('the loss context generator follows rngSeed when given, else the run seed', async () => {
    const draws: number[] = [];
    const recording: LossPlugin = {
      ...contrastiveLoss,
      compute(emb, labels, params, ctx) {
        draws.push(ctx.rng.next());
        return contrastiveLoss.compute(emb, labels, params, ctx);
      },
    };
    const run = async (seed: number, rngSeed?: number): Promise<number[]> => {
      draws.length = 0;
      const m = await train(cfg({ ...SMALL, iterations: 3, seed }), DATA, recording, { margin: 0.5 }, rngSeed === undefined ? {} : { rngSeed });
      m.dispose();
      return [...draws];
    };
    const expected = new Rng(1234);
    expect(await run(0, 1234)).toEqual([expected.next(), expected.next(), expected.next()]);
    expect(await run(0)).toEqual(await run(0));
    expect(await run(0)).not.toEqual(await run(1));
  });

  it('weight decay changes the trained model', async () => {
    const emb = async (weightDecay: number): Promise<Float32Array> => {
      const m = await train(cfg({ ...SMALL, iterations: 8, weightDecay }), DATA, contrastiveLoss, { margin: 0.5 });
      const e = m.embed(DATA.test);
      m.dispose();
      return e;
    };
    expect(sameBits(await emb(0), await emb(0))).toBe(true);
    expect(sameBits(await emb(0), await emb(0.05))).toBe(false);
  });

  it('iterations = 0 gives the untrained model without sampling any batch', async () => {
    // B/P = 64 classes per batch is more than the 16 classes the data have: only training would fail.
    const m = await train(cfg({ ...SMALL, batchSize: 256, iterations: 0 }), DATA, contrastiveLoss, { margin: 0.5 });
    expect(m.curve).toEqual([]);
    expect(m.trainMs).toBe(0);
    expect(m.embed(DATA.test).length).toBe(DATA.test.n * SMALL.embeddingDim);
    m.dispose();
    await expect(train(cfg({ ...SMALL, batchSize: 256, iterations: 1 }), DATA, contrastiveLoss, { margin: 0.5 })).rejects.toThrow(/batchSize: 256/);
  });

  it('the untrained model is the one training starts from', async () => {
    const c = cfg({ ...SMALL, seed: 4 });
    const m0 = await train({ ...c, iterations: 0 }, DATA, contrastiveLoss, { margin: 0.5 });
    // Adam moves each weight by about lr per step: 1e-30 leaves float32 weights unchanged.
    const m1 = await train({ ...c, iterations: 3, lr: 1e-30, weightDecay: 0 }, DATA, contrastiveLoss, { margin: 0.5 });
    const m2 = await train({ ...c, iterations: 3 }, DATA, contrastiveLoss, { margin: 0.5 });
    expect(sameBits(m0.embed(DATA.test), m1.embed(DATA.test))).toBe(true);
    expect(sameBits(m0.embed(DATA.test), m2.embed(DATA.test))).toBe(false);
    for (const m of [m0, m1, m2]) m.dispose();
  });

  it('trains the convnet on small images', async () => {
    const flat = clusterData({ classes: 8, perClass: 4, dim: 64, signal: 8, noise: 1, seed: 2 });
    const images: LoadedDataset = {
      ...flat,
      train: { ...flat.train, imageShape: [8, 8, 1] },
      test: { ...flat.test, imageShape: [8, 8, 1] },
    };
    const counts: number[] = [];
    const m = await train(
      cfg({ ...SMALL, model: 'convnet', iterations: 4, batchSize: 8, perClass: 2 }),
      images,
      contrastiveLoss,
      { margin: 0.5 },
      {
        onStep: () => counts.push(tf.memory().numTensors),
      },
    );
    expect(m.curve).toHaveLength(4);
    expect(new Set(counts).size).toBe(1);
    const e = m.embed(images.test);
    expect(e.length).toBe(images.test.n * SMALL.embeddingDim);
    expect(Math.hypot(...e.subarray(0, SMALL.embeddingDim))).toBeCloseTo(1, 5);
    m.dispose();
  });
});

describe('train on cpu', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('is deterministic and agrees with wasm to float32 precision', async () => {
    const c = cfg({ ...SMALL, iterations: 5, seed: 3 });
    const run = async (): Promise<{ curve: Array<{ loss: number }>; emb: Float32Array }> => {
      const m = await train(c, DATA, contrastiveLoss, { margin: 0.5 });
      const out = { curve: m.curve, emb: m.embed(DATA.test) };
      m.dispose();
      return out;
    };
    const a = await run();
    const b = await run();
    expect(a.curve).toEqual(b.curve);
    expect(sameBits(a.emb, b.emb)).toBe(true);
    await selectBackend('wasm');
    const w = await run();
    await selectBackend('cpu');
    // Same weights, batches and updates; only the backends' float32 rounding differs.
    for (let s = 0; s < 5; s++) expect(Math.abs(w.curve[s]!.loss - a.curve[s]!.loss)).toBeLessThan(1e-4);
    let maxDiff = 0;
    for (let i = 0; i < a.emb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.emb[i]! - w.emb[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
  });
});

describe('train input errors', () => {
  // Its fields' own ranges are the loader's to check (test/api/experiments.test.ts); these are
  // what only training can see: the config against the data.
  it('rejects a config that does not fit the data, and mismatched data, with one-line UserErrors', async () => {
    await selectBackend('wasm');
    await expect(train(cfg({ ...SMALL, batchSize: 18, iterations: 1 }), DATA, contrastiveLoss, { margin: 0.5 })).rejects.toThrow(
      /batchSize: 18 is not divisible by perClass 4/,
    );
    await expect(train(cfg({ ...SMALL, model: 'convnet' }), DATA, contrastiveLoss, { margin: 0.5 })).rejects.toThrow(/convnet.*needs an image dataset/);
    const bad: LoadedDataset = { ...DATA, test: { ...DATA.test, dim: 3, x: new Float32Array(DATA.test.n * 3) } };
    await expect(train(cfg({ ...SMALL, iterations: 0 }), bad, contrastiveLoss, { margin: 0.5 })).rejects.toThrow(
      /train rows have 20 features but test rows have 3/,
    );
    const m = await train(cfg({ ...SMALL, iterations: 0 }), DATA, contrastiveLoss, { margin: 0.5 });
    expect(() => m.embed({ ...DATA.test, dim: 4 })).toThrow(/split rows have 4 features; the model was built for 20/);
    m.dispose();
    expect(() => m.embed(DATA.test)).toThrow(/disposed/);
  });
});
