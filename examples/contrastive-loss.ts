// The loss of contrastive-loss.js in TypeScript. `defineLoss` reads the parameter specs, so
// `params.margin` is a number and `params.pairs` is 'all' | 'hardest' in compute, with no
// cast; a wrong default or a misspelt parameter is a type error here, not a failed run.
// In a project with rankbench installed (npm install -D rankbench):
//   npx tsc                       (or any TypeScript build) → contrastive-loss.js
//   npx rankbench --plugin ./contrastive-loss.js loss contrastive-ts --input batch.json
import { defineLoss, type LossContext } from 'rankbench';

/** n×n 0/1 mask from labels: pairs of the same class (self excluded), or of different classes. */
function pairMask(tf: LossContext['tf'], labels: Int32Array, same: boolean) {
  const n = labels.length;
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m[i * n + j] = (labels[i] === labels[j]) === same && i !== j ? 1 : 0;
  }
  return tf.tensor2d(m, [n, n]);
}

export default defineLoss({
  name: 'contrastive-ts',
  description: 'Contrastive loss on dot products: pull positives to 1, push negatives below a margin',
  params: [
    { name: 'margin', type: 'number', default: 0.5, min: -1, max: 1, doc: 'negatives are penalised above this similarity' },
    { name: 'pairs', type: 'enum', values: ['all', 'hardest'], default: 'all', doc: "negative pairs pushed: all, or each anchor's most similar one" },
  ],
  compute(embeddings, labels, params, { tf }) {
    const pos = pairMask(tf, labels, true);
    const neg = pairMask(tf, labels, false);
    const s = tf.matMul(embeddings, tf.transpose(embeddings));
    const pull = tf.div(tf.sum(tf.mul(pos, tf.sub(1, s))), tf.maximum(tf.sum(pos), 1));
    const over = tf.mul(neg, tf.relu(tf.sub(s, params.margin)));
    if (params.pairs === 'all') {
      return { loss: tf.add(pull, tf.div(tf.sum(over), tf.maximum(tf.sum(neg), 1))) };
    }
    // The hardest negative of each anchor: the largest violation in its row.
    return { loss: tf.add(pull, tf.mean(tf.max(over, 1))) };
  },
});
