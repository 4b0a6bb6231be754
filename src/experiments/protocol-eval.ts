import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { groupByClass } from '../data/classes.js';
import type { LoadedDataset, Split } from '../data/types.js';
import { evaluateQueryGallery, evaluateRetrieval, type LabelledRows, type RetrievalOptions } from '../metrics/retrieval.js';
import type { RetrievalMetrics } from '../metrics/types.js';
import { protocolOf, type ProtocolSettings } from './eval-protocol.js';
import type { EvalSpec } from './types.js';

/** Embedded rows of one split: n × e vectors and the split's labels. */
interface Embedded {
  x: Float32Array;
  n: number;
  labels: Int32Array;
}

/** The embedding of a split (the model's), and where the numbers come from for messages. */
export interface ProtocolInput {
  data: LoadedDataset;
  /** Embedding dimension. */
  e: number;
  /** The test split embedded (computed once by the caller, who also needs it). */
  test: Float32Array;
  embed: (s: Split) => Float32Array;
  seed: number;
  workers?: number;
}

/** Seeds of the class subset and of the gallery draws: fixed per cell seed, independent of the loss. */
const SUBSET_SALT = 0x7e57c1a5;
const DRAW_SALT = 0x6a11e7;

function rowsOf(e: Embedded, d: number, keep: (i: number) => boolean): Embedded {
  const idx: number[] = [];
  for (let i = 0; i < e.n; i++) if (keep(i)) idx.push(i);
  return gather(e, d, idx);
}

function gather(e: Embedded, d: number, idx: ArrayLike<number>): Embedded {
  const x = new Float32Array(idx.length * d);
  const labels = new Int32Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    x.set(e.x.subarray(i * d, (i + 1) * d), k * d);
    labels[k] = e.labels[i]!;
  }
  return { x, n: idx.length, labels };
}

/**
 * `count` classes drawn at random (seeded) from those present in `labels`; all when count = 0.
 * More than there are is an error naming the split and both counts.
 */
export function classSubset(labels: Int32Array, count: number, seed: number, where: string): Set<number> | null {
  if (count === 0) return null;
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  if (count > classes.length) {
    throw new UserError(`eval.testClasses: ${count} is more than the ${classes.length} classes of ${where}; expected at most ${classes.length}`);
  }
  const shuffled = new Rng((seed ^ SUBSET_SALT) >>> 0).shuffle(classes) as number[];
  return new Set(shuffled.slice(0, count));
}

/**
 * One gallery draw: for each class (ascending id), its rows shuffled and the first `perClass`
 * put in the gallery, the rest kept as queries (row order preserved on both sides).
 */
export function drawGallery(labels: Int32Array, perClass: number, rng: Rng, where: string): { query: Int32Array; gallery: Int32Array } {
  const { classes, rows } = groupByClass(labels);
  const inGallery = new Uint8Array(labels.length);
  classes.forEach((c, k) => {
    const r = rows[k]!;
    if (r.length < perClass + 1) {
      throw new UserError(
        `eval.perClass: ${perClass} needs ${perClass + 1} items per class (the gallery items and a query), but class ${c} of ${where} has ${r.length}; lower eval.perClass or drop small classes`,
      );
    }
    const shuffled = rng.shuffle(Int32Array.from(r)) as Int32Array;
    for (let t = 0; t < perClass; t++) inGallery[shuffled[t]!] = 1;
  });
  const query: number[] = [];
  const gallery: number[] = [];
  for (let i = 0; i < labels.length; i++) (inGallery[i] ? gallery : query).push(i);
  return { query: Int32Array.from(query), gallery: Int32Array.from(gallery) };
}

/** Mean of each metric over draws, with the sample standard deviation as the spread. */
export function combineDraws(runs: readonly RetrievalMetrics[]): RetrievalMetrics {
  const n = runs.length;
  const stat = (f: (m: RetrievalMetrics) => number): [number, number] => {
    const vs = runs.map(f);
    const mean = vs.reduce((a, v) => a + v, 0) / n;
    const std = n > 1 ? Math.sqrt(vs.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : NaN;
    return [mean, std];
  };
  const [map, mapSd] = stat((m) => m.map);
  const [mapAtR, mapAtRSd] = stat((m) => m.mapAtR);
  const [rPrecision, rPrecisionSd] = stat((m) => m.rPrecision);
  const [precisionAt1, p1Sd] = stat((m) => m.precisionAt1);
  const [mrr, mrrSd] = stat((m) => m.mrr ?? NaN);
  const recallAt: Record<string, number> = {};
  const recallSd: Record<string, number> = {};
  for (const k of Object.keys(runs[0]!.recallAt)) [recallAt[k], recallSd[k]] = stat((m) => m.recallAt[k]!);
  return {
    map,
    mapAtR,
    rPrecision,
    precisionAt1,
    recallAt,
    mrr,
    queries: runs[0]!.queries,
    leftOut: runs[0]!.leftOut ?? 0,
    draws: { count: n, std: { map: mapSd, mapAtR: mapAtRSd, rPrecision: rPrecisionSd, precisionAt1: p1Sd, recallAt: recallSd, mrr: mrrSd } },
  };
}

/** Evaluates a cell's embeddings under its eval protocol (leave-one-out, query-gallery or gallery-draws). */
export async function evaluateProtocol(spec: EvalSpec, input: ProtocolInput): Promise<RetrievalMetrics> {
  const p: ProtocolSettings = protocolOf(spec);
  const { data, e } = input;
  const opts: RetrievalOptions = { k: spec.k, similarity: p.similarity, averaging: p.averaging };
  if (input.workers !== undefined) opts.workers = input.workers;

  if (p.protocol === 'query-gallery') {
    if (!data.query || !data.gallery) {
      throw new UserError(
        `eval.protocol: query-gallery needs a dataset with query and gallery splits; dataset ${data.name} has none (the features dataset takes them from its split file or column)`,
      );
    }
    let q: Embedded = { x: input.embed(data.query), n: data.query.n, labels: data.query.labels };
    let g: Embedded = { x: input.embed(data.gallery), n: data.gallery.n, labels: data.gallery.labels };
    const keep = classSubset(q.labels, p.testClasses, input.seed, `dataset ${data.name}'s query split`);
    if (keep) {
      q = rowsOf(q, e, (i) => keep.has(q.labels[i]!));
      g = rowsOf(g, e, (i) => keep.has(g.labels[i]!));
    }
    if (g.n === 0) throw new UserError(`dataset ${data.name}: the gallery split is empty for the chosen test classes; nothing to rank against`);
    return evaluateQueryGallery(q as LabelledRows, g as LabelledRows, e, opts);
  }

  let test: Embedded = { x: input.test, n: data.test.n, labels: data.test.labels };
  const keep = classSubset(test.labels, p.testClasses, input.seed, `dataset ${data.name}'s test split`);
  if (keep) test = rowsOf(test, e, (i) => keep.has(test.labels[i]!));

  if (p.protocol === 'leave-one-out') return evaluateRetrieval(test.x, test.n, e, test.labels, opts);

  const rng = new Rng((input.seed ^ DRAW_SALT) >>> 0);
  const runs: RetrievalMetrics[] = [];
  for (let t = 0; t < p.draws; t++) {
    const { query, gallery } = drawGallery(test.labels, p.perClass, rng.fork(), `dataset ${data.name}'s test split`);
    runs.push(await evaluateQueryGallery(gather(test, e, query), gather(test, e, gallery), e, opts));
  }
  return combineDraws(runs);
}
