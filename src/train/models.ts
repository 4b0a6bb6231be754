import * as tf from '@tensorflow/tfjs';
import { UserError, show } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { ModelKind } from './types.js';

/** What a model needs to know about its input and output. */
export interface ModelSpec {
  kind: ModelKind;
  /** Features per row (H·W·C for images). */
  inputDim: number;
  embeddingDim: number;
  /** Hidden width of the mlp head. */
  hidden: number;
  /** [height, width, channels] of image rows (HWC order); required by the convnet. */
  imageShape?: [number, number, number];
}

export interface EmbeddingModel {
  readonly spec: ModelSpec;
  /** Every trainable weight, in a fixed order. */
  readonly variables: tf.Variable[];
  /** n×inputDim rows → n×embeddingDim, each row L2-normalised. Call inside tf.tidy. */
  apply(x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** Rows with a norm below this are divided by it instead (as PyTorch's F.normalize). */
export const NORM_EPS = 1e-12;

const CONV_CHANNELS = [16, 32] as const;

/**
 * x / max(‖x‖, eps), written so that its gradient stays finite for a zero row: the clamp sits
 * under the square root, so the sqrt is never differentiated at 0.
 */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  const sq = tf.sum(tf.square(x), 1, true);
  return tf.div(x, tf.sqrt(tf.maximum(sq, NORM_EPS * NORM_EPS)));
}

/**
 * Weights drawn from the run's Rng rather than tf.randomNormal, whose seeding differs between
 * backends: the same seed gives the same model on cpu and wasm.
 */
function normalWeights(rng: Rng, shape: number[], std: number): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const w = new Float32Array(size);
  for (let i = 0; i < size; i++) w[i] = rng.normal() * std;
  return toVariable(tf.tensor(w, shape));
}

function zeros(shape: number[]): tf.Variable {
  return toVariable(tf.zeros(shape));
}

/** The variable shares the initial tensor's data; dropping the tensor keeps the count of live tensors exact. */
function toVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/** He init for layers followed by a ReLU, Glorot for the linear output layer. */
const heStd = (fanIn: number): number => Math.sqrt(2 / fanIn);
const glorotStd = (fanIn: number, fanOut: number): number => Math.sqrt(2 / (fanIn + fanOut));

/**
 * x·W with its gradient written with explicit transposes: the wasm backend's matMul with a
 * transpose flag (what tf.matMul's own gradient uses) is 10-17× slower than transposing first
 * (224×784·784×256: 150 ms vs 12 ms). `inputGrad` false skips dx for a layer fed by data.
 */
function matMulOp(inputGrad: boolean): (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D {
  return tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: (t: tf.Tensor[]) => void) => {
    save([x, w]);
    return {
      value: tf.matMul(x, w),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dx = inputGrad ? tf.matMul(dy, tf.transpose(ws)) : tf.zerosLike(xs);
        return [dx, tf.matMul(tf.transpose(xs), dy)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;
}

const matMulFirst = matMulOp(false);
const matMulInner = matMulOp(true);

/** x·W + b. Exposed for the gradient tests. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, inputGrad = true): tf.Tensor2D {
  return tf.add((inputGrad ? matMulInner : matMulFirst)(x, w), b) as tf.Tensor2D;
}

/**
 * 2×2 max pooling, stride 2 ('valid': an odd last row/column is dropped). The forward is the
 * backend's; the gradient is a JS pass, because the backends' MaxPoolGrad cost more than all the
 * convolutions of a training step on wasm (217 ms vs ~45 ms here at 224×28×28×16). The gradient
 * goes to the first maximum of each window in row-major order, as TensorFlow's does.
 */
export const maxPool2x2 = tf.customGrad(((x: tf.Tensor4D, save: (t: tf.Tensor[]) => void) => {
  save([x]);
  return {
    value: tf.maxPool(x, 2, 2, 'valid'),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const xt = saved[0] as tf.Tensor4D;
      const [n, h, w, c] = xt.shape;
      const ho = Math.floor(h / 2);
      const wo = Math.floor(w / 2);
      const xs = xt.dataSync();
      const g = dy.dataSync();
      const dx = new Float32Array(n * h * w * c);
      const right = c;
      const down = w * c;
      let k = 0;
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < ho; i++) {
          for (let j = 0; j < wo; j++) {
            const p00 = ((b * h + 2 * i) * w + 2 * j) * c;
            for (let ch = 0; ch < c; ch++, k++) {
              const a0 = p00 + ch;
              let best = a0;
              if (xs[a0 + right]! > xs[best]!) best = a0 + right;
              if (xs[a0 + down]! > xs[best]!) best = a0 + down;
              if (xs[a0 + down + right]! > xs[best]!) best = a0 + down + right;
              // Windows do not overlap, so each input position receives at most one value.
              dx[best] = g[k]!;
            }
          }
        }
      }
      return tf.tensor4d(dx, [n, h, w, c]);
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * 3×3 'same' convolution, stride 1, HWIO weights, with its gradient written out by hand: the wasm
 * backend has no Conv2DBackpropFilter kernel (tf.conv2d cannot be trained there) and its
 * Conv2DBackpropInput is slow, while forward Conv2D is fast on every backend. Both gradients are
 * forward convolutions:
 *   dx = conv2d(dy, W flipped in space with in/out channels swapped, 'same')
 *   dW[a,b,i,o] = Σ_{n,h,w} xpad[n,h+a,w+b,i]·dy[n,h,w,o] = a 'valid' conv2d of xpad with the
 *   batch moved to the channel axis, filtered by dy (H×W kernel, N in, O out).
 * `inputGrad` false skips dx for the first layer, whose input is data.
 */
function conv3x3Op(inputGrad: boolean): (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D {
  return tf.customGrad(((x: tf.Tensor4D, w: tf.Tensor4D, save: (t: tf.Tensor[]) => void) => {
    save([x, w]);
    return {
      value: tf.conv2d(x, w, 1, 'same'),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = inputGrad ? tf.conv2d(dy, tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]), 1, 'same') : tf.zerosLike(xs);
        const xpad = tf.transpose(
          tf.pad(xs, [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
          [3, 1, 2, 0],
        ) as tf.Tensor4D;
        const dyk = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
        const dw = tf.transpose(tf.conv2d(xpad, dyk, 1, 'valid'), [1, 2, 0, 3]);
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
}

const convFirst = conv3x3Op(false);
const convInner = conv3x3Op(true);

/** Exposed for the gradient tests. */
export function conv3x3(x: tf.Tensor4D, w: tf.Tensor4D, inputGrad = true): tf.Tensor4D {
  return (inputGrad ? convInner : convFirst)(x, w);
}

function checkSpec(spec: ModelSpec): void {
  const intAtLeast1 = (v: number): boolean => Number.isInteger(v) && v >= 1;
  if (!intAtLeast1(spec.inputDim)) throw new UserError(`model: input dimension ${show(spec.inputDim)} is not allowed; expected an integer >= 1`);
  if (!intAtLeast1(spec.embeddingDim)) throw new UserError(`train.embeddingDim: ${show(spec.embeddingDim)} is not allowed; expected an integer >= 1`);
  if (!intAtLeast1(spec.hidden)) throw new UserError(`train.hidden: ${show(spec.hidden)} is not allowed; expected an integer >= 1`);
  if (spec.kind === 'convnet') {
    const s = spec.imageShape;
    if (!s) {
      throw new UserError(
        `train.model: "convnet" needs an image dataset (rows of H×W×C pixels); this dataset has flat ${spec.inputDim}-d features; use linear or mlp`,
      );
    }
    if (s[0] * s[1] * s[2] !== spec.inputDim) {
      throw new UserError(`train.model: "convnet": image shape ${s.join('×')} does not match the ${spec.inputDim} features per row`);
    }
    if (s[0] < 4 || s[1] < 4) throw new UserError(`train.model: "convnet" needs images of at least 4×4 pixels; got ${s[0]}×${s[1]}`);
  }
}

/** Builds a model with weights drawn from `rng`; the same spec and rng state give the same weights. */
export function createModel(spec: ModelSpec, rng: Rng): EmbeddingModel {
  checkSpec(spec);
  const { inputDim: din, embeddingDim: e, hidden: h } = spec;
  switch (spec.kind) {
    case 'linear': {
      const w = normalWeights(rng, [din, e], glorotStd(din, e));
      const b = zeros([e]);
      return build(spec, [w, b], (x) => dense(x, w as tf.Tensor2D, b as tf.Tensor1D, false));
    }
    case 'mlp': {
      const w1 = normalWeights(rng, [din, h], heStd(din));
      const b1 = zeros([h]);
      const w2 = normalWeights(rng, [h, e], glorotStd(h, e));
      const b2 = zeros([e]);
      return build(spec, [w1, b1, w2, b2], (x) => dense(tf.relu(dense(x, w1 as tf.Tensor2D, b1 as tf.Tensor1D, false)), w2 as tf.Tensor2D, b2 as tf.Tensor1D));
    }
    case 'convnet': {
      const [ih, iw, ic] = spec.imageShape!;
      const [c1, c2] = CONV_CHANNELS;
      const k1 = normalWeights(rng, [3, 3, ic, c1], heStd(9 * ic));
      const b1 = zeros([c1]);
      const k2 = normalWeights(rng, [3, 3, c1, c2], heStd(9 * c1));
      const b2 = zeros([c2]);
      // Two 2×2 'valid' pools floor each side twice.
      const flat = Math.floor(Math.floor(ih / 2) / 2) * Math.floor(Math.floor(iw / 2) / 2) * c2;
      const w3 = normalWeights(rng, [flat, e], glorotStd(flat, e));
      const b3 = zeros([e]);
      return build(spec, [k1, b1, k2, b2, w3, b3], (x) => {
        const n = x.shape[0];
        let a = tf.reshape(x, [n, ih, iw, ic]) as tf.Tensor4D;
        // Pool before the bias and ReLU: both are monotone per channel, so max-pooling commutes with
        // them, and their forward and gradient then run on a quarter of the values.
        a = tf.relu(tf.add(maxPool2x2(conv3x3(a, k1 as tf.Tensor4D, false)), b1)) as tf.Tensor4D;
        a = tf.relu(tf.add(maxPool2x2(conv3x3(a, k2 as tf.Tensor4D)), b2)) as tf.Tensor4D;
        return dense(tf.reshape(a, [n, flat]) as tf.Tensor2D, w3 as tf.Tensor2D, b3 as tf.Tensor1D);
      });
    }
    default:
      throw new UserError(`train.model: ${show(spec.kind)} is not allowed; expected one of linear, mlp, convnet`);
  }
}

function build(spec: ModelSpec, variables: tf.Variable[], forward: (x: tf.Tensor2D) => tf.Tensor2D): EmbeddingModel {
  return {
    spec,
    variables,
    apply: (x) => {
      if (x.shape[1] !== spec.inputDim) {
        throw new UserError(`model: input rows have ${x.shape[1]} features; the model was built for ${spec.inputDim}`);
      }
      return l2Normalize(forward(x));
    },
    dispose: () => {
      for (const v of variables) v.dispose();
    },
  };
}
