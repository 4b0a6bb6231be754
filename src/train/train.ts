import * as tf from '@tensorflow/tfjs';
import { UserError, show } from '../core/errors.js';
import type { Params } from '../core/params.js';
import { Rng } from '../core/rng.js';
import { PKSampler } from '../data/sampler.js';
import type { LoadedDataset, Split } from '../data/types.js';
import { lossFailure } from '../losses/plugin-errors.js';
import type { LossPlugin } from '../losses/types.js';
import { Adam } from './adam.js';
import { createModel, type EmbeddingModel } from './models.js';
import type { StepRecord, TrainConfig, TrainProgress } from './types.js';

export interface TrainOptions {
  onStep?: (p: TrainProgress) => void;
  /**
   * Seed of the generator handed to the loss (LossContext.rng, e.g. Blackbox-AP's margin noise).
   * Default: derived from cfg.seed. Initialisation and batches always follow cfg.seed.
   */
  rngSeed?: number;
}

export interface TrainedModel {
  curve: StepRecord[];
  trainMs: number;
  /** n×embeddingDim, L2-normalised rows. */
  embed(split: Split): Float32Array;
  dispose(): void;
}

/** Rows per forward pass in embed(): bounds memory (a convnet's patch matrix grows 9·C per pixel). */
const EMBED_CHUNK = { linear: 1024, mlp: 1024, convnet: 256 } as const;

/** NaN-aware mean; NaN when no value is finite. */
function nanMean(a: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  }
  return n ? s / n : NaN;
}

/** Copies the batch's rows out of the split on the JS side (tf.gather has no gradient on wasm). */
function gatherRows(split: Split, idx: Int32Array, into: Float32Array, labels: Int32Array): void {
  const d = split.dim;
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r]!;
    into.set(split.x.subarray(i * d, (i + 1) * d), r * d);
    labels[r] = split.labels[i]!;
  }
}

function checkData(data: LoadedDataset): void {
  const { train, test } = data;
  for (const [name, s] of [
    ['train', train],
    ['test', test],
  ] as const) {
    if (s.x.length !== s.n * s.dim || s.labels.length !== s.n) {
      throw new UserError(`dataset ${show(data.name)}: ${name} split has ${s.x.length} values and ${s.labels.length} labels for ${s.n} rows of ${s.dim}`);
    }
  }
  if (train.dim !== test.dim) {
    throw new UserError(`dataset ${show(data.name)}: train rows have ${train.dim} features but test rows have ${test.dim}`);
  }
}

/**
 * tf.variableGrads, with its "no connection" failure (a loss computed without the embeddings,
 * e.g. tf.scalar(0)) turned into a UserError naming the loss: it would otherwise train nothing.
 */
function lossAndGrads(model: EmbeddingModel, loss: LossPlugin, f: () => tf.Scalar, unconnected: () => string): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  try {
    return tf.variableGrads(f, model.variables);
  } catch (e) {
    if (e instanceof Error && !(e instanceof UserError) && /Cannot find a connection/.test(e.message)) throw new UserError(unconnected());
    throw lossFailure(loss, e);
  }
}

function embedSplit(model: EmbeddingModel, split: Split): Float32Array {
  const { inputDim: d, embeddingDim: e, kind } = model.spec;
  if (split.dim !== d) throw new UserError(`embed: split rows have ${split.dim} features; the model was built for ${d}`);
  const out = new Float32Array(split.n * e);
  const chunk = EMBED_CHUNK[kind];
  for (let s = 0; s < split.n; s += chunk) {
    const m = Math.min(chunk, split.n - s);
    const y = tf.tidy(() => model.apply(tf.tensor2d(split.x.subarray(s * d, (s + m) * d), [m, d])));
    out.set(y.dataSync(), s * e);
    y.dispose();
  }
  return out;
}

/**
 * Trains an embedding model on PK batches of data.train with any loss plugin. Every source of
 * randomness (weights, batches, loss) comes from seeded generators, so the same seed on the same
 * backend gives a bit-identical curve and embeddings. The initial weights do not depend on
 * cfg.iterations: iterations = 0 gives exactly the model a run starts from.
 * The curve holds steps 1, every multiple of cfg.logEvery, and the last (steps count from 1).
 * `cfg` is a validated TrainConfig: every configuration enters through the experiment loader
 * (files, --set and the library API alike), which checks each field against TRAIN_PARAM_SPECS
 * and names the file and key path; checking it again here would only repeat that with a worse
 * message.
 */
export async function train(cfg: TrainConfig, data: LoadedDataset, loss: LossPlugin, lossParams: Params, opts: TrainOptions = {}): Promise<TrainedModel> {
  checkData(data);
  const root = new Rng(cfg.seed);
  const initRng = root.fork();
  const samplerSeed = root.nextUint32();
  const lossRng = new Rng(opts.rngSeed ?? root.nextUint32());

  const model = createModel(
    { kind: cfg.model, inputDim: data.train.dim, embeddingDim: cfg.embeddingDim, hidden: cfg.hidden, imageShape: data.train.imageShape },
    initRng,
  );
  const curve: StepRecord[] = [];
  let trainMs = 0;
  try {
    if (cfg.iterations > 0) {
      const sampler = new PKSampler(data.train.labels, cfg.batchSize, cfg.perClass, samplerSeed, { withReplacement: cfg.withReplacement });
      const adam = new Adam(model.variables, { lr: cfg.lr, weightDecay: cfg.weightDecay });
      try {
        const t0 = performance.now();
        const b = cfg.batchSize;
        const d = data.train.dim;
        const xb = new Float32Array(b * d);
        for (let step = 1; step <= cfg.iterations; step++) {
          // A fresh label array per step: a loss may keep a reference to it.
          const yb = new Int32Array(b);
          gatherRows(data.train, sampler.next(), xb, yb);
          let apPerQuery: Float64Array | undefined;
          const value = tf.tidy(() => {
            const x = tf.tensor2d(xb, [b, d]);
            const { value: lossT, grads } = lossAndGrads(
              model,
              loss,
              () => {
                const out = loss.compute(model.apply(x), yb, lossParams, { rng: lossRng, tf });
                apPerQuery = out.apPerQuery;
                return out.loss;
              },
              () =>
                `loss ${loss.name} returned a value that does not depend on the embeddings at step ${step}; compute it from them (a batch without pairs should still give a loss connected to them, e.g. 0 · sum(embeddings))`,
            );
            const v = lossT.dataSync()[0]!;
            // Checked before the update, so a diverged step never reaches the weights.
            if (!Number.isFinite(v)) {
              throw new UserError(`non-finite loss ${v} at step ${step} (loss ${loss.name} ${JSON.stringify(lossParams)})`);
            }
            // A weight the loss does not reach gets a zero gradient (only weight decay moves it).
            adam.step(model.variables.map((w) => grads[w.name] ?? tf.zerosLike(w)));
            return v;
          });
          if (step === 1 || step % cfg.logEvery === 0 || step === cfg.iterations) {
            const rec: StepRecord = { step, loss: value };
            const ap = apPerQuery ? nanMean(apPerQuery) : NaN;
            if (Number.isFinite(ap)) rec.apEstimate = ap;
            curve.push(rec);
          }
          opts.onStep?.({ step, total: cfg.iterations, loss: value });
          // Lets timers and signal handlers run between steps (progress display, Ctrl-C).
          await new Promise<void>((r) => setImmediate(r));
        }
        trainMs = performance.now() - t0;
      } finally {
        adam.dispose();
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  }

  let disposed = false;
  return {
    curve,
    trainMs,
    embed(split: Split): Float32Array {
      if (disposed) throw new Error('embed: the model was disposed');
      return embedSplit(model, split);
    },
    dispose(): void {
      if (!disposed) model.dispose();
      disposed = true;
    },
  };
}
