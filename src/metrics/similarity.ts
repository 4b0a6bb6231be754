import { UserError } from '../core/errors.js';

/**
 * How a query is compared with a gallery item.
 * - dot: q·g as given (for embeddings the model already L2-normalised; today's default).
 * - cosine: q·g / (‖q‖‖g‖): both sides normalised first, so raw backbone features rank by angle.
 * - euclidean: ‖q − g‖, smaller distance ranks first.
 */
export type Similarity = 'dot' | 'cosine' | 'euclidean';
export const SIMILARITIES: readonly Similarity[] = ['dot', 'cosine', 'euclidean'];

/** Query and gallery rows whose plain dot product ranks the gallery as `similarity` does. */
export interface ScoringRows {
  /** Query rows; null: the gallery rows themselves (the kernel then holds one copy). */
  q: ArrayLike<number> | null;
  g: ArrayLike<number>;
  /** Row length of both (d, or d + 1 for euclidean). */
  d: number;
}

function normalised(x: ArrayLike<number>, n: number, d: number, side: string): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += x[i * d + t]! * x[i * d + t]!;
    // A zero row has no direction: cosine similarity is undefined for it.
    if (s === 0) throw new UserError(`${side}: row ${i} is all zeros; cosine similarity needs a non-zero vector (use dot or euclidean)`);
    const inv = 1 / Math.sqrt(s);
    for (let t = 0; t < d; t++) out[i * d + t] = x[i * d + t]! * inv;
  }
  return out;
}

/**
 * Rows for the dot-product kernel. Euclidean: for a fixed query, ‖q − g‖² = ‖q‖² + ‖g‖² − 2q·g,
 * so ascending distance is descending q·g − ‖g‖²/2 = [q, 1]·[g, −‖g‖²/2]: one extra column and
 * the same kernel, no N×N distance matrix. Scores are float64 values of that expression, so
 * items at equal distance tie exactly when the float64 expressions are equal (duplicates
 * always do).
 * `same`: the query rows are the gallery rows (leave-one-out), so dot and cosine share them.
 */
export function scoringRows(
  qx: ArrayLike<number>,
  qn: number,
  gx: ArrayLike<number>,
  gn: number,
  d: number,
  similarity: Similarity,
  same: boolean,
): ScoringRows {
  if (similarity === 'dot') return { q: same ? null : qx, g: gx, d };
  if (similarity === 'cosine') {
    const g = normalised(gx, gn, d, same ? 'embeddings' : 'gallery');
    return { q: same ? null : normalised(qx, qn, d, 'query'), g, d };
  }
  const e = d + 1;
  const g = new Float64Array(gn * e);
  for (let i = 0; i < gn; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = gx[i * d + t];
      g[i * e + t] = v!;
      s += v! * v!;
    }
    g[i * e + d] = -0.5 * s;
  }
  const q = new Float64Array(qn * e);
  for (let i = 0; i < qn; i++) {
    for (let t = 0; t < d; t++) q[i * e + t] = qx[i * d + t]!;
    q[i * e + d] = 1;
  }
  return { q, g, d: e };
}
