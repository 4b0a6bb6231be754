import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { UserError, show } from '../core/errors.js';
import {
  classIndex,
  evaluateBlocks,
  f32BoundParts,
  SLOTS,
  SLOT_AP,
  SLOT_AP_AT_R,
  SLOT_FIRST_RANK,
  SLOT_R_PRECISION,
  type QueryRows,
} from './retrieval-core.js';
import type { RetrievalTaskData } from './retrieval-task.js';
import { runTasks, workerScript as poolWorkerScript } from '../kernels/pool.js';
import { scoringRows, SIMILARITIES, type Similarity } from './similarity.js';
import { SYMMETRIC_TILE, symmetricPerQuery } from './symmetric-retrieval.js';
import { MAX_POSITIVES } from './symmetric-task.js';
import { wasmSimdAvailable } from './wasm-gram.js';
import { AVERAGINGS, type Averaging, type RetrievalMetrics } from './types.js';

/** Below this many items the row-wise path is used by default (its start-up is smaller). */
const SYMMETRIC_MIN_N = 2048;

/**
 * Exact retrieval evaluation, float64 throughout, of queries ranked against a gallery:
 * - leave-one-out (evaluateRetrieval): every item is a query against all others, the query
 *   itself excluded from its own ranking;
 * - query-gallery (evaluateQueryGallery): a query set against a separate gallery; nothing is
 *   left out, so a gallery copy of a query is a correct match.
 * Similarity (similarity.ts): dot (default, the rows as given), cosine, or euclidean (smaller
 * distance ranks first).
 *
 * Definitions (pytorch-metric-learning's AccuracyCalculator): R = number of gallery items of the
 * query's class (minus the query itself in leave-one-out); queries with R = 0 are left out of
 * every metric (`queries` counts the rest, `leftOut` those left out).
 * - map: mean AP over the queries, ties as scikit-learn's average_precision_score (items tied
 *   with a positive count as ranked above it); independent of any K.
 * - The top-K metrics need a strict order. Tied scores are broken by gallery index, lower index
 *   first: deterministic, independent of blocks and threads, and the same rule a stable sort
 *   of the rows by descending score gives.
 *   mapAtR = mean (1/R) Σ_{i ≤ R} P(i)·rel(i) over the top R; rPrecision = mean share of
 *   positives in the top R; precisionAt1 = share of queries whose top item is a positive;
 *   recallAt[K] = share of queries with at least one positive in the top K; mrr = mean of
 *   1 / (rank of the first positive).
 * - averaging 'query' (default): means over queries; 'class': each class's queries are averaged
 *   first, then the classes (pytorch-metric-learning's avg_of_avgs).
 *
 * Cost: the N×N×D similarity products (a wasm SIMD kernel, blocks of `blockSize` query rows,
 * so memory is O(N·blockSize), never N×N) plus, per query, one pass over its row that ranks
 * only its positives (no sort of the row). Query blocks are spread over `workers` threads.
 * The fast kernel computes float32 scores with a proven error bound; every item within that
 * bound of a positive is rescored in float64, so the metrics are exactly those of float64
 * scores (see `precision`).
 */
export interface RetrievalOptions {
  /** Recall@K cut-offs (positive integers); default `defaultKs(n)`. */
  k?: number[];
  /** Query rows per similarity block; default keeps each block near 32 MB. */
  blockSize?: number;
  /**
   * Threads (1 = in this thread). Default: all cores once n ≥ 4096, else 1 (below that,
   * starting workers costs more than it saves). Falls back to this thread when the compiled
   * worker script is absent (running from TypeScript sources, e.g. under vitest).
   */
  workers?: number;
  /** false forces the plain-JS similarity kernel (tests). */
  useWasm?: boolean;
  /**
   * Similarity kernel (results are exact either way): 'f64' scores everything in float64;
   * 'f32' (about twice as fast) uses float32 SIMD scores with a proven error bound and
   * rescores in float64 the few items within that bound of a positive. 'auto' (default): f32
   * where the bound is valid (no overflow) and classes are not huge (positives per query <
   * N/20), else f64.
   */
  precision?: 'auto' | 'f32' | 'f64';
  /** dot (default), cosine or euclidean. */
  similarity?: Similarity;
  /**
   * Leave-one-out with dot or cosine scores: multiply each unordered pair once (the half-Gram
   * path, symmetric-retrieval.ts; same results). Default: where it applies and n ≥ 2048, with
   * `blockSize` as its tile side when given. false: always the row-wise path.
   */
  symmetric?: boolean;
  /** 'query' (default) or 'class' (per-class means first). */
  averaging?: Averaging;
}

/** One side of a query-gallery evaluation: n×d rows and a class id per row (ids shared by both sides). */
export interface LabelledRows {
  x: Float32Array | Float64Array;
  n: number;
  labels: Int32Array;
}

/** 1, 2, 4, 8 always (the CUB/Cars convention), plus 10, 100, 1000 (SOP) where K < n. */
export function defaultKs(n: number): number[] {
  return [1, 2, 4, 8, ...[10, 100, 1000].filter((k) => k < n)];
}

/** Per-query results: n × 4 values (see retrieval-core.ts SLOT_*), NaN rows for R = 0. */
export interface PerQueryResults {
  perQuery: Float64Array;
  /** Threads that evaluated query blocks (1 = in this thread). */
  workersUsed: number;
  /** Whether the half-Gram path (symmetric-retrieval.ts) computed them. */
  halfGram?: boolean;
}

export async function evaluateRetrieval(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  labels: Int32Array,
  opts: RetrievalOptions = {},
): Promise<RetrievalMetrics> {
  const ks = validateKs(opts.k ?? defaultKs(n));
  const averaging = checkAveraging(opts.averaging);
  const { perQuery } = await retrievalPerQuery(x, n, d, labels, opts);
  return summarize(perQuery, n, ks, averaging === 'class' ? labels : undefined);
}

/**
 * Queries against a separate gallery (nothing left out). A query without a positive in the
 * gallery is left out of the means and counted in `leftOut`; when no query is left, a UserError.
 */
export async function evaluateQueryGallery(query: LabelledRows, gallery: LabelledRows, d: number, opts: RetrievalOptions = {}): Promise<RetrievalMetrics> {
  const ks = validateKs(opts.k ?? defaultKs(gallery.n));
  const averaging = checkAveraging(opts.averaging);
  const { perQuery } = await queryGalleryPerQuery(query, gallery, d, opts);
  const m = summarize(perQuery, query.n, ks, averaging === 'class' ? query.labels : undefined);
  if (m.queries === 0) {
    throw new UserError(`query: none of the ${query.n} queries has an item of its class in the gallery of ${gallery.n}; nothing to evaluate`);
  }
  return m;
}

/**
 * Sums per-query results in query order (so totals never depend on blocks or threads). With
 * `classOf`, per-class averaging: each class's evaluated queries are averaged, then the classes
 * (a class whose queries were all left out does not count).
 */
export function summarize(perQuery: Float64Array, n: number, ks: number[], classOf?: Int32Array): RetrievalMetrics {
  if (classOf) return summarizeByClass(perQuery, n, ks, classOf);
  let map = 0,
    mapAtR = 0,
    rPrecision = 0,
    p1 = 0,
    rr = 0,
    queries = 0;
  const hits = ks.map(() => 0);
  for (let q = 0; q < n; q++) {
    const o = q * SLOTS;
    if (Number.isNaN(perQuery[o + SLOT_AP])) continue;
    queries++;
    map += perQuery[o + SLOT_AP]!;
    mapAtR += perQuery[o + SLOT_AP_AT_R]!;
    rPrecision += perQuery[o + SLOT_R_PRECISION]!;
    const first = perQuery[o + SLOT_FIRST_RANK];
    if (first === 1) p1++;
    rr += 1 / first!;
    for (let t = 0; t < ks.length; t++) if (first! <= ks[t]!) hits[t]!++;
  }
  const recallAt: Record<string, number> = {};
  const div = (v: number) => (queries === 0 ? NaN : v / queries);
  ks.forEach((k, t) => (recallAt[String(k)] = div(hits[t]!)));
  return {
    map: div(map),
    mapAtR: div(mapAtR),
    rPrecision: div(rPrecision),
    precisionAt1: div(p1),
    recallAt,
    mrr: div(rr),
    queries,
    leftOut: n - queries,
  };
}

function summarizeByClass(perQuery: Float64Array, n: number, ks: number[], classOf: Int32Array): RetrievalMetrics {
  // Per class: [count, ap, ap@R, R-precision, P@1, reciprocal rank, hits per K...].
  const width = 6 + ks.length;
  const sums = new Map<number, Float64Array>();
  let queries = 0;
  for (let q = 0; q < n; q++) {
    const o = q * SLOTS;
    if (Number.isNaN(perQuery[o + SLOT_AP])) continue;
    queries++;
    let s = sums.get(classOf[q]!);
    if (!s) sums.set(classOf[q]!, (s = new Float64Array(width)));
    const first = perQuery[o + SLOT_FIRST_RANK];
    s[0]!++;
    s[1]! += perQuery[o + SLOT_AP]!;
    s[2]! += perQuery[o + SLOT_AP_AT_R]!;
    s[3]! += perQuery[o + SLOT_R_PRECISION]!;
    s[4]! += first === 1 ? 1 : 0;
    s[5]! += 1 / first!;
    for (let t = 0; t < ks.length; t++) if (first! <= ks[t]!) s[6 + t]!++;
  }
  const means = new Float64Array(width);
  for (const s of sums.values()) for (let f = 1; f < width; f++) means[f]! += s[f]! / s[0]!;
  const classes = sums.size;
  const div = (v: number) => (classes === 0 ? NaN : v / classes);
  const recallAt: Record<string, number> = {};
  ks.forEach((k, t) => (recallAt[String(k)] = div(means[6 + t]!)));
  return {
    map: div(means[1]!),
    mapAtR: div(means[2]!),
    rPrecision: div(means[3]!),
    precisionAt1: div(means[4]!),
    recallAt,
    mrr: div(means[5]!),
    queries,
    leftOut: n - queries,
  };
}

function checkAveraging(a: Averaging | undefined): Averaging {
  const v = a ?? 'query';
  if (!AVERAGINGS.includes(v)) throw new UserError(`averaging: ${show(a)} is not allowed; expected one of ${AVERAGINGS.join(', ')}`);
  return v;
}

function checkSimilarity(s: Similarity | undefined): Similarity {
  const v = s ?? 'dot';
  if (!SIMILARITIES.includes(v)) throw new UserError(`similarity: ${show(s)} is not allowed; expected one of ${SIMILARITIES.join(', ')}`);
  return v;
}

export function validateKs(ks: readonly number[]): number[] {
  if (ks.length === 0) throw new UserError('k: the list of Recall@K cut-offs is empty; give at least one positive integer');
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1) throw new UserError(`k: ${show(k)} is not a valid cut-off; each K must be a positive integer`);
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

/** `side` names the rows in messages: "embeddings" (leave-one-out), "query" or "gallery". */
function validateInput(x: ArrayLike<number>, n: number, d: number, labels: Int32Array, side = 'embeddings'): void {
  const what = side === 'embeddings' ? 'embeddings' : `${side} rows`;
  if (!Number.isInteger(n) || n < 1)
    throw new UserError(`${side === 'embeddings' ? 'n' : side}: ${show(n)} ${what}; the number of items must be a positive integer`);
  if (!Number.isInteger(d) || d < 1) throw new UserError(`d: ${show(d)}; the embedding dimension must be a positive integer`);
  if (x.length !== n * d) throw new UserError(`${side}: ${x.length} values for n×d = ${n}×${d} = ${n * d}`);
  if (labels.length !== n)
    throw new UserError(`${side === 'embeddings' ? 'labels' : `${side} labels`}: ${labels.length} labels for ${n} ${what}; the counts must be equal`);
  let maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) throw new UserError(`${side}: row ${Math.floor(i / d)} column ${i % d} is ${v}; values must be finite`);
    const a = Math.abs(v!);
    if (a > maxAbs) maxAbs = a;
  }
  // Every score is bounded by d·max|x|²; past float64's range the ranking would be meaningless.
  if (!Number.isFinite(d * maxAbs * maxAbs)) {
    throw new UserError(`${side}: values up to ${maxAbs} make dot products overflow float64; rescale them`);
  }
}

function defaultBlockSize(n: number): number {
  const rows = Math.floor((32 * 2 ** 20) / (8 * n));
  return Math.max(8, Math.min(256, rows - (rows % 2)));
}

/**
 * The compiled task module beside this module, or null when running from sources (then the
 * evaluation runs on this thread; results are the same either way).
 */
function taskScript(name = './retrieval-task.js'): URL | null {
  const url = new URL(name, import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) && poolWorkerScript() ? url : null;
}

/** Evaluates every query in leave-one-out; exposed for per-query analysis and for tests of the thread split. */
export async function retrievalPerQuery(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  labels: Int32Array,
  opts: RetrievalOptions = {},
): Promise<PerQueryResults> {
  validateInput(x, n, d, labels);
  const rows = scoringRows(x, n, x, n, d, checkSimilarity(opts.similarity), true);
  if (!rows.q) {
    const half = await halfGram(rows.g, n, rows.d, labels, opts);
    if (half) return half;
  }
  const queries = rows.q ? { x: rows.q, n, labels } : null;
  return runBlocks(rows.g, n, rows.d, labels, queries, true, opts);
}

/** Evaluates every query against a separate gallery (nothing left out); per-query results in query order. */
export async function queryGalleryPerQuery(query: LabelledRows, gallery: LabelledRows, d: number, opts: RetrievalOptions = {}): Promise<PerQueryResults> {
  validateInput(query.x, query.n, d, query.labels, 'query');
  validateInput(gallery.x, gallery.n, d, gallery.labels, 'gallery');
  const rows = scoringRows(query.x, query.n, gallery.x, gallery.n, d, checkSimilarity(opts.similarity), false);
  return runBlocks(rows.g, gallery.n, rows.d, gallery.labels, { x: rows.q!, n: query.n, labels: query.labels }, false, opts);
}

function blockSizeOf(opts: RetrievalOptions, n: number): number {
  const blockSize = opts.blockSize ?? defaultBlockSize(n);
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new UserError(`blockSize: ${show(blockSize)}; must be a positive integer`);
  }
  return blockSize;
}

function threadsOf(opts: RetrievalOptions, n: number): number {
  const requested = opts.workers ?? (n >= 4096 ? availableParallelism() : 1);
  if (!Number.isInteger(requested) || requested < 1) {
    throw new UserError(`workers: ${show(requested)}; must be a positive integer (1 = no worker threads)`);
  }
  return requested;
}

/**
 * The half-Gram path (symmetric-retrieval.ts) where it applies: leave-one-out with symmetric
 * scores (dot, cosine), the float32 kernel allowed and paying (as in evaluateBlocks), classes
 * small enough for its tables. Null: the row-wise path runs instead.
 */
async function halfGram(x: ArrayLike<number>, n: number, d: number, labels: Int32Array, opts: RetrievalOptions): Promise<PerQueryResults | null> {
  const wanted = opts.precision ?? 'auto';
  if (opts.symmetric === false || (opts.symmetric === undefined && n < SYMMETRIC_MIN_N)) return null;
  if (wanted === 'f64' || !(opts.useWasm ?? wasmSimdAvailable())) return null;
  const classes = classIndex(labels);
  let pairs = 0;
  for (const c of classes.count.values()) {
    if (c - 1 > MAX_POSITIVES) return null;
    pairs += c * (c - 1);
  }
  if (wanted === 'auto' && pairs / n >= n / 20) return null;
  const bound = f32BoundParts(x, n, d, null);
  if (!bound) return null;
  const tile = blockSizeOf({ blockSize: opts.blockSize ?? SYMMETRIC_TILE }, n);
  const requested = threadsOf(opts, n);
  const script = requested > 1 ? taskScript('./symmetric-task.js') : null;
  const perQuery = await symmetricPerQuery(x, n, d, labels, classes, bound, requested, script, tile);
  return perQuery ? { perQuery, workersUsed: script ? requested : 1, halfGram: true } : null;
}

/** Runs evaluateBlocks in this thread or spread over worker threads. */
async function runBlocks(
  x: ArrayLike<number>,
  n: number,
  d: number,
  labels: Int32Array,
  queries: QueryRows | null,
  self: boolean,
  opts: RetrievalOptions,
): Promise<PerQueryResults> {
  const qn = queries ? queries.n : n;
  const blockSize = blockSizeOf(opts, n);
  const requested = threadsOf(opts, Math.max(n, qn));
  const blocks = Math.ceil(qn / blockSize);
  const script = requested > 1 && blocks > 1 ? taskScript() : null;
  const workers = script ? Math.min(requested, blocks) : 1;

  if (workers === 1) {
    const out = new Float64Array(qn * SLOTS);
    let next = 0;
    evaluateBlocks({ x, n, d, labels, ...(queries ? { queries } : {}), self, blockSize, out, useWasm: opts.useWasm, precision: opts.precision }, () => {
      const q0 = next;
      next += blockSize;
      return q0;
    });
    return { perQuery: out, workersUsed: 1 };
  }

  const shared = (v: ArrayLike<number>, len: number): SharedArrayBuffer => {
    const a = new Float64Array(new SharedArrayBuffer(len * 8));
    a.set(v);
    return a.buffer as SharedArrayBuffer;
  };
  const sharedLabels = (l: Int32Array): SharedArrayBuffer => {
    const a = new Int32Array(new SharedArrayBuffer(l.length * 4));
    a.set(l);
    return a.buffer as SharedArrayBuffer;
  };
  const out = new Float64Array(new SharedArrayBuffer(qn * SLOTS * 8));

  const counter = new SharedArrayBuffer(4);
  const data: RetrievalTaskData = {
    x: shared(x, n * d),
    labels: sharedLabels(labels),
    out: out.buffer as SharedArrayBuffer,
    counter,
    n,
    d,
    blockSize,
    self,
    useWasm: opts.useWasm,
    precision: opts.precision,
  };
  if (queries) data.queries = { x: shared(queries.x, queries.n * d), labels: sharedLabels(queries.labels), n: queries.n };
  await runTasks(script!, data, workers);
  return { perQuery: out, workersUsed: workers };
}
