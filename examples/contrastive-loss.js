// A user's own loss as a plugin: plain ESM, tfjs ops only (autodiff gives the gradient). It
// imports nothing: `ctx.tf` is the tfjs rankbench runs on, so this file works from any folder.
//   npx rankbench --plugin ./examples/contrastive-loss.js list
//   npx rankbench --plugin ./examples/contrastive-loss.js loss contrastive --input batch.json
// examples/contrastive-loss.ts is the same loss in TypeScript, with typed parameters.

/** n×n 0/1 mask from labels: pairs of the same class (self excluded), or of different classes. */
function pairMask(tf, labels, same) {
  const n = labels.length;
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m[i * n + j] = (labels[i] === labels[j]) === same && i !== j ? 1 : 0;
  }
  return tf.tensor2d(m, [n, n]);
}

export default {
  name: 'contrastive',
  description: 'Contrastive loss on dot products: pull positives to 1, push negatives below a margin',
  params: [{ name: 'margin', type: 'number', default: 0.5, min: -1, max: 1, doc: 'negatives are penalised above this similarity' }],
  compute(embeddings, labels, params, { tf }) {
    const pos = pairMask(tf, labels, true);
    const neg = pairMask(tf, labels, false);
    const s = tf.matMul(embeddings, tf.transpose(embeddings));
    const pull = tf.div(tf.sum(tf.mul(pos, tf.sub(1, s))), tf.maximum(tf.sum(pos), 1));
    const push = tf.div(tf.sum(tf.mul(neg, tf.relu(tf.sub(s, params.margin)))), tf.maximum(tf.sum(neg), 1));
    return { loss: tf.add(pull, push) };
  },
};
