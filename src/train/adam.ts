import * as tf from '@tensorflow/tfjs';

export interface AdamOptions {
  lr: number;
  /** L2 penalty added to the gradient before the moments (PyTorch Adam's weight_decay, not AdamW). */
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * Adam with PyTorch's update rule, which the paper's code uses:
 *   g ← g + wd·w;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   w ← w − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
 * tf.train.adam has no weight decay and places eps differently, hence this small one. Only
 * elementwise tf ops, so it is deterministic on every backend.
 */
export class Adam {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private t = 0;

  constructor(
    private readonly params: readonly tf.Variable[],
    private readonly opts: AdamOptions,
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.m = params.map(zeroState);
    this.v = params.map(zeroState);
  }

  /** Number of steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** One update; `grads[i]` is the gradient of `params[i]`. Does not dispose `grads`. */
  step(grads: readonly tf.Tensor[]): void {
    if (grads.length !== this.params.length) throw new Error(`Adam.step: ${grads.length} gradients for ${this.params.length} parameters`);
    this.t++;
    const { lr, weightDecay } = this.opts;
    const b1 = this.beta1;
    const b2 = this.beta2;
    // Bias corrections in float64 on the JS side, so only their float32 rounding reaches the backend.
    const stepSize = lr / (1 - b1 ** this.t);
    const sqrtBc2 = Math.sqrt(1 - b2 ** this.t);
    tf.tidy(() => {
      this.params.forEach((w, i) => {
        let g = grads[i]!;
        if (weightDecay !== 0) g = tf.add(g, tf.mul(w, weightDecay));
        const m = tf.add(tf.mul(this.m[i]!, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(this.v[i]!, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), this.eps);
        w.assign(tf.sub(w, tf.mul(tf.div(m, denom), stepSize)));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
      });
    });
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}

function zeroState(p: tf.Variable): tf.Variable {
  const z = tf.zerosLike(p);
  const v = tf.variable(z, false);
  // The variable shares z's data; dropping z keeps the count of live tensors exact.
  z.dispose();
  return v;
}
