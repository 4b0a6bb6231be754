/**
 * Independent float64 references for the metric tests: full sorts of each row, written the way
 * scikit-learn and pytorch-metric-learning describe their metrics, sharing no code with src/.
 */
import type { RetrievalMetrics } from '../../src/metrics/types.js';
import { Rng } from '../../src/core/rng.js';

/** scikit-learn's average_precision_score: walk distinct thresholds high→low, AP = Σ ΔRecall·Precision. */
export function sklearnAP(scores: number[], relevant: boolean[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const P = relevant.filter(Boolean).length;
  if (P === 0) return NaN;
  let tp = 0;
  let seen = 0;
  let prevRecall = 0;
  let ap = 0;
  let i = 0;
  while (i < idx.length) {
    const t = scores[idx[i]];
    while (i < idx.length && scores[idx[i]] === t) {
      if (relevant[idx[i]]) tp++;
      seen++;
      i++;
    }
    const recall = tp / P;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
  }
  return ap;
}

export function dot(x: ArrayLike<number>, d: number, i: number, j: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += x[i * d + t] * x[j * d + t];
  return s;
}

/** Per-query AP by full sort, under either query convention; NaN without another item of the class. */
export function bruteBatchAP(x: ArrayLike<number>, n: number, d: number, labels: ArrayLike<number>, includeQuery: boolean): number[] {
  const out: number[] = [];
  for (let q = 0; q < n; q++) {
    const scores: number[] = [];
    const rel: boolean[] = [];
    let others = 0;
    for (let j = 0; j < n; j++) {
      if (j === q && !includeQuery) continue;
      scores.push(dot(x, d, q, j));
      rel.push(labels[j] === labels[q]);
      if (j !== q && labels[j] === labels[q]) others++;
    }
    out.push(others === 0 ? NaN : sklearnAP(scores, rel));
  }
  return out;
}

/** The brute force fills the same fields as the evaluation it checks. */
export type BruteRetrieval = RetrievalMetrics;

/**
 * Every item a query against all others, full sort of each row by (score desc, index asc) — the
 * tie rule documented in retrieval.ts — and pytorch-metric-learning's AccuracyCalculator formulas.
 */
export function bruteRetrieval(x: ArrayLike<number>, n: number, d: number, labels: ArrayLike<number>, ks: number[]): BruteRetrieval {
  let map = 0,
    mapAtR = 0,
    rPrec = 0,
    p1 = 0,
    queries = 0;
  const hits = ks.map(() => 0);
  for (let q = 0; q < n; q++) {
    const others: number[] = [];
    for (let j = 0; j < n; j++) if (j !== q) others.push(j);
    const R = others.filter((j) => labels[j] === labels[q]).length;
    if (R === 0) continue;
    queries++;
    const score = new Map(others.map((j) => [j, dot(x, d, q, j)]));
    map += sklearnAP(
      others.map((j) => score.get(j)!),
      others.map((j) => labels[j] === labels[q]),
    );
    const sorted = [...others].sort((a, b) => score.get(b)! - score.get(a)! || a - b);
    const rel = sorted.map((j) => labels[j] === labels[q]);
    let tp = 0,
      apr = 0;
    for (let i = 0; i < R; i++) {
      if (rel[i]) {
        tp++;
        apr += tp / (i + 1);
      }
    }
    mapAtR += apr / R;
    rPrec += tp / R;
    if (rel[0]) p1++;
    ks.forEach((k, t) => {
      if (rel.slice(0, k).some(Boolean)) hits[t]++;
    });
  }
  const recallAt: Record<string, number> = {};
  ks.forEach((k, t) => (recallAt[String(k)] = hits[t] / queries));
  return { map: map / queries, mapAtR: mapAtR / queries, rPrecision: rPrec / queries, precisionAt1: p1 / queries, recallAt, queries };
}

/**
 * Random embeddings with many exact ties: components drawn from a few small integers (dot
 * products of small integers are exact in float64, so equal scores really are equal), plus
 * duplicated rows; `classes` labels at random.
 */
export function tiedData(seed: number, n: number, d: number, classes: number): { x: Float64Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) x[i] = rng.int(3) - 1;
  for (let i = 1; i < n; i += 5) x.copyWithin(i * d, (i - 1) * d, i * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(classes);
  return { x, labels };
}

/** Random Gaussian rows (no ties in practice). */
export function gaussianData(seed: number, n: number, d: number, classes: number): { x: Float64Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) x[i] = rng.normal();
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(classes);
  return { x, labels };
}

/**
 * Near-ties below float32 resolution: a few base rows plus perturbations of relative size
 * ~1e-9, so that float32 scores collide or misorder while float64 scores are distinct.
 */
export function nearTieData(seed: number, n: number, d: number, classes: number): { x: Float64Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const bases = 4;
  const base = new Float64Array(bases * d);
  for (let i = 0; i < base.length; i++) base[i] = rng.int(5) - 2;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const b = rng.int(bases);
    for (let t = 0; t < d; t++) x[i * d + t] = base[b * d + t] + 1e-9 * rng.normal();
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(classes);
  return { x, labels };
}

export type BruteSimilarity = 'dot' | 'cosine' | 'euclidean';

/**
 * Query q's score for gallery item j, computed directly from the definition: dot product,
 * dot / (‖q‖‖g‖), or minus the squared distance (smaller distance first; squaring keeps the
 * order and keeps integer data exact).
 */
function pairScore(qx: ArrayLike<number>, q: number, gx: ArrayLike<number>, j: number, d: number, sim: BruteSimilarity): number {
  let s = 0,
    qq = 0,
    gg = 0,
    dist = 0;
  for (let t = 0; t < d; t++) {
    const a = qx[q * d + t],
      b = gx[j * d + t];
    s += a * b;
    qq += a * a;
    gg += b * b;
    dist += (a - b) * (a - b);
  }
  if (sim === 'dot') return s;
  if (sim === 'cosine') return s / (Math.sqrt(qq) * Math.sqrt(gg));
  return -dist;
}

export interface BruteQG extends RetrievalMetrics {
  mrr: number;
  leftOut: number;
}

/**
 * Queries against a gallery by full sort of each row (score desc, gallery index asc), with
 * pytorch-metric-learning's formulas; `self` leaves query i (= gallery item i) out of its own
 * ranking; `perClass` averages each class's queries first, then the classes.
 */
export function bruteQueryGallery(
  qx: ArrayLike<number>,
  qLabels: ArrayLike<number>,
  gx: ArrayLike<number>,
  gLabels: ArrayLike<number>,
  d: number,
  ks: number[],
  opts: { similarity?: BruteSimilarity; self?: boolean; perClass?: boolean } = {},
): BruteQG {
  const sim = opts.similarity ?? 'dot';
  const nq = qLabels.length,
    ng = gLabels.length;
  const rows: { label: number; v: number[] }[] = [];
  for (let q = 0; q < nq; q++) {
    const items: number[] = [];
    for (let j = 0; j < ng; j++) if (!(opts.self && j === q)) items.push(j);
    const rel = (j: number) => gLabels[j] === qLabels[q];
    const R = items.filter(rel).length;
    if (R === 0) continue;
    const score = new Map(items.map((j) => [j, pairScore(qx, q, gx, j, d, sim)]));
    const ap = sklearnAP(
      items.map((j) => score.get(j)!),
      items.map(rel),
    );
    const sorted = [...items].sort((a, b) => score.get(b)! - score.get(a)! || a - b);
    const r = sorted.map(rel);
    let tp = 0,
      apr = 0;
    for (let i = 0; i < R; i++) if (r[i]) apr += ++tp / (i + 1);
    const first = r.indexOf(true) + 1;
    rows.push({ label: qLabels[q], v: [ap, apr / R, tp / R, first === 1 ? 1 : 0, 1 / first, ...ks.map((k) => (first <= k ? 1 : 0))] });
  }
  const mean = (vs: number[][]) => vs[0].map((_, f) => vs.reduce((a, v) => a + v[f], 0) / vs.length);
  let m: number[];
  if (opts.perClass) {
    const byClass = new Map<number, number[][]>();
    for (const r of rows) byClass.set(r.label, [...(byClass.get(r.label) ?? []), r.v]);
    m = mean([...byClass.values()].map(mean));
  } else {
    m = rows.length ? mean(rows.map((r) => r.v)) : Array(5 + ks.length).fill(NaN);
  }
  const recallAt: Record<string, number> = {};
  ks.forEach((k, t) => (recallAt[String(k)] = m[5 + t]));
  return { map: m[0], mapAtR: m[1], rPrecision: m[2], precisionAt1: m[3], mrr: m[4], recallAt, queries: rows.length, leftOut: nq - rows.length };
}
