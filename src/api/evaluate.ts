import { UserError, show } from '../core/errors.js';
import { defaultKs, evaluateRetrieval } from '../metrics/retrieval.js';
import type { Similarity } from '../metrics/similarity.js';
import type { Averaging, RetrievalMetrics } from '../metrics/types.js';

/** Row-major values with their shape [rows, dimensions], e.g. a Float32Array from a model. */
export interface EmbeddingMatrix {
  data: ArrayLike<number>;
  shape: readonly [number, number];
}

/** Anything with a 2-D shape and its values, e.g. a tf.Tensor2D. */
export interface TensorLike {
  shape: readonly number[];
  dataSync(): ArrayLike<number>;
}

/** One row per item: nested arrays, a flat typed array with its shape, or a tensor. */
export type Embeddings = readonly (readonly number[])[] | EmbeddingMatrix | TensorLike;

export interface EvaluateOptions {
  /** Recall@K cut-offs; default 1, 2, 4, 8 and 10, 100, 1000 where K < n (as `bench metrics`). */
  k?: readonly number[];
  /** Threads; default all cores for large inputs. */
  workers?: number;
  /** dot (default: embeddings already normalised), cosine or euclidean. */
  similarity?: Similarity;
  /** query (default): mean over queries; class: mean over classes of per-class means. */
  averaging?: Averaging;
}

/** The metrics `bench metrics` prints: each is a mean over `queries` queries. */
export type EvaluateResult = { protocol: string; similarity: Similarity; averaging: Averaging } & Pick<
  RetrievalMetrics,
  'map' | 'mapAtR' | 'rPrecision' | 'precisionAt1' | 'mrr' | 'recallAt' | 'queries' | 'leftOut'
>;

/** The fields `bench metrics` prints, in its order: the CLI and `evaluate` share this. */
export function metricsSummary(m: RetrievalMetrics, how: { protocol: string; similarity: Similarity; averaging: Averaging }): EvaluateResult {
  const { map, mapAtR, rPrecision, precisionAt1, mrr, recallAt, queries, leftOut } = m;
  return { ...how, map, mapAtR, rPrecision, precisionAt1, mrr, recallAt, queries, leftOut };
}

function matrix(embeddings: Embeddings): { x: Float32Array | Float64Array; n: number; d: number } {
  const where = 'evaluate: embeddings';
  if (Array.isArray(embeddings)) {
    const rows = embeddings as readonly (readonly number[])[];
    const n = rows.length;
    const d = Array.isArray(rows[0]) ? rows[0].length : 0;
    if (n === 0 || d === 0) throw new UserError(`${where}: expected at least one non-empty row, got ${show(embeddings)}`);
    const x = new Float64Array(n * d);
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== d) throw new UserError(`${where}[${i}]: expected ${d} numbers like row 0, got ${show(row)}`);
      row.forEach((v, t) => (x[i * d + t] = v));
    });
    return { x, n, d };
  }
  const m = embeddings as Partial<EmbeddingMatrix & TensorLike>;
  const shape = m.shape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((s) => Number.isInteger(s) && s > 0)) {
    throw new UserError(`${where}: shape is ${show(shape)}; expected [rows, dimensions], both positive integers`);
  }
  const [n, d] = shape as [number, number];
  const data = typeof m.dataSync === 'function' ? m.dataSync() : m.data;
  if (!data || typeof data.length !== 'number') throw new UserError(`${where}: expected number[][], { data, shape } or a 2-D tensor`);
  if (data.length !== n * d) throw new UserError(`${where}: ${data.length} values for shape [${n}, ${d}]; expected ${n * d}`);
  return { x: data instanceof Float32Array || data instanceof Float64Array ? data : Float64Array.from(data), n, d };
}

/** Labels of any kind to dense class ids (1 and "1" are different classes, as in `bench metrics`). */
function classIds(labels: ArrayLike<number | string>, n: number): Int32Array {
  if (!labels || labels.length !== n) throw new UserError(`evaluate: labels: ${labels?.length} labels for ${n} embedding rows; the counts must be equal`);
  const ids = new Map<string, number>();
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!(typeof l === 'string' || (typeof l === 'number' && Number.isFinite(l)))) {
      throw new UserError(`evaluate: labels[${i}] is ${show(l)}; labels must be finite numbers or strings`);
    }
    const key = `${typeof l}:${l}`;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    out[i] = id;
  }
  return out;
}

/**
 * Exact retrieval metrics of labelled embeddings, as `bench metrics` computes and prints them:
 * every item is a query against all others, similarity = dot product of the rows as given.
 */
export async function evaluate(embeddings: Embeddings, labels: ArrayLike<number | string>, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  const { x, n, d } = matrix(embeddings);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!))
      throw new UserError(`evaluate: embeddings: row ${Math.floor(i / d)}, column ${i % d} is ${x[i]}; every value must be a finite number`);
  }
  const ids = classIds(labels, n);
  const { k, workers } = options;
  if (k !== undefined && (!Array.isArray(k) || k.length === 0 || !k.every((v) => Number.isSafeInteger(v) && v >= 1))) {
    throw new UserError(`evaluate: options.k is ${show(k)}; expected a non-empty array of positive integers, e.g. [1, 2, 4, 8]`);
  }
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) {
    throw new UserError(`evaluate: options.workers is ${show(workers)}; expected a positive integer`);
  }
  const ks = k ? [...new Set(k)].sort((a, b) => a - b) : defaultKs(n);
  const similarity = options.similarity ?? 'dot';
  const averaging = options.averaging ?? 'query';
  const m = await evaluateRetrieval(x, n, d, ids, { k: ks, similarity, averaging, ...(workers !== undefined ? { workers } : {}) });
  if (m.queries === 0) throw new UserError('evaluate: no item has another item of its class, so no query can be evaluated');
  return metricsSummary(m, { protocol: 'leave-one-out', similarity, averaging });
}
