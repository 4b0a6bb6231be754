/**
 * Answers an experiment's claims from its per-cell results: paired comparisons (cells equal in
 * dataset, seed and every other swept parameter, so seed-to-seed spread cancels), Holm's
 * correction over the comparisons one claim makes, and a verdict per claim and dataset.
 */
import { Rng } from '../core/rng.js';
import type { Value } from '../experiments/contract.js';
import { sameScalar } from './parse.js';
import { holm, pairedTTest, pairsNeeded, spearman } from './stats.js';
import type { BestClaim, BetterClaim, ClaimSpec, MetricExpr, Scalar, TrendClaim, Verdict } from './types.js';

/** A results.csv row as the results contract types it (experiments/contract.ts). */
export type ResultRow = Record<string, Value | undefined>;

export const ALPHA = 0.05;
/** Fewer paired observations than this give no verdict. */
export const MIN_PAIRS = 3;

/** One comparison a claim makes on one dataset (A vs B, or the trend). */
export interface Comparison {
  /** What is compared, e.g. "0.01 vs 0.005" or "loss.params.tau vs |apGap|". */
  label: string;
  metric: string;
  /** Mean of A and of B over the pairs (NaN for a trend). */
  aMean: number;
  bMean: number;
  /** Mean paired difference A − B, or for a trend the mean Spearman ρ over blocks. */
  effect: number;
  ciLow: number;
  ciHigh: number;
  p: number;
  pAdjusted: number;
  nPairs: number;
  /** Positive when the effect points the way the claim says. */
  sign: 1 | -1;
  /** Seeds probably needed to decide this comparison (Infinity: no effect seen; NaN: unknown). */
  seedsNeeded: number;
  /** The paired observations (A vs B), for charts: each with its cells and seed. */
  pairs: PairPoint[];
  /** For a trend: each block's points and ρ. */
  blocks: TrendBlock[];
}

export interface PairPoint {
  a: number;
  b: number;
  seed: string;
  aCell: string;
  bCell: string;
}

export interface TrendBlock {
  seed: string;
  /** The block's other settings, e.g. "train.iterations=100" ('' when only the seed). */
  label: string;
  rho: number;
  points: Array<{ x: number; y: number; cell: string }>;
}

export interface ClaimResult {
  claim: ClaimSpec;
  dataset: string;
  verdict: Verdict;
  /** The comparison that decides the verdict (the weakest link; the worst one when it fails). */
  decisive: Comparison;
  comparisons: Comparison[];
}

/** The results.csv column that holds a parameter. */
export function columnOf(param: string): string {
  return param === 'loss.name' ? 'loss' : param === 'dataset.name' ? 'dataset' : param;
}

function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || v.trim() === '') return null;
  const x = Number(v);
  return Number.isFinite(x) ? x : null;
}

export function metricValue(row: ResultRow, m: MetricExpr): number | null {
  const a = num(row[m.a]);
  if (a === null) return null;
  let v = a;
  if (m.b !== undefined) {
    const b = num(row[m.b]);
    if (b === null) return null;
    v = a - b;
  }
  return m.abs ? Math.abs(v) : v;
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

/**
 * Rows into blocks of cells that differ only in `param`: same dataset, seed, and value of every
 * other swept column. The parameters of a plugin named by `param` (loss.params.* for loss.name)
 * are part of what changes with it, so they do not split blocks.
 */
function blocks(rows: readonly ResultRow[], param: string, swept: readonly string[]): Map<string, ResultRow[]> {
  const owned = param.endsWith('.name') ? param.slice(0, -'name'.length) + 'params.' : null;
  const keyCols = ['dataset', 'seed', ...(param === 'loss.name' ? [] : ['loss']), ...swept.filter((c) => c !== param && !(owned && c.startsWith(owned)))];
  const out = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const k = JSON.stringify(keyCols.map((c) => text(r[c])));
    out.set(k, [...(out.get(k) ?? []), r]);
  }
  return out;
}

function seedsPerPair(pairs: readonly ResultRow[]): number {
  const seeds = new Set(pairs.map((r) => text(r.seed))).size;
  return seeds ? pairs.length / seeds : 1;
}

type Pair = { a: number; b: number; row: ResultRow; other?: ResultRow };

function compare(label: string, metric: string, pairs: Pair[], sign: 1 | -1, m: number): Comparison {
  const t = pairedTTest(pairs.map((p) => p.a - p.b));
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : NaN);
  const need = pairsNeeded(t.mean, t.sd, ALPHA / m);
  const perSeed = seedsPerPair(pairs.map((p) => p.row));
  return {
    label,
    metric,
    aMean: mean(pairs.map((p) => p.a)),
    bMean: mean(pairs.map((p) => p.b)),
    effect: t.mean,
    ciLow: t.ciLow,
    ciHigh: t.ciHigh,
    p: t.p,
    pAdjusted: NaN,
    nPairs: t.n,
    sign,
    seedsNeeded: Number.isFinite(need) ? Math.ceil(need / perSeed) : need,
    pairs: pairs.map((p) => ({ a: p.a, b: p.b, seed: text(p.row.seed), aCell: text(p.row.cell), bCell: text((p.other ?? p.row).cell) })),
    blocks: [],
  };
}

function showValue(v: Scalar): string {
  return String(v);
}

function pairUp(rows: readonly ResultRow[], swept: readonly string[], param: string, a: Scalar, b: Scalar, metric: MetricExpr): Pair[] {
  const col = columnOf(param);
  const out: Pair[] = [];
  for (const members of blocks(rows, param, swept).values()) {
    const ra = members.find((r) => sameScalar(r[col], a));
    const rb = members.find((r) => sameScalar(r[col], b));
    const va = ra ? metricValue(ra, metric) : null;
    const vb = rb ? metricValue(rb, metric) : null;
    if (va !== null && vb !== null) out.push({ a: va, b: vb, row: ra!, other: rb! });
  }
  return out;
}

/** Verdict over a claim's comparisons, once Holm's adjusted p-values are in. */
function verdictOf(cs: readonly Comparison[]): { verdict: Verdict; decisive: Comparison } {
  const weakest = (xs: readonly Comparison[]): Comparison => xs.reduce((w, c) => (c.sign * c.effect < w.sign * w.effect ? c : w));
  if (cs.some((c) => c.nPairs < MIN_PAIRS)) return { verdict: 'not enough seeds', decisive: cs.reduce((w, c) => (c.nPairs < w.nPairs ? c : w)) };
  const against = cs.filter((c) => c.pAdjusted < ALPHA && c.sign * c.effect < 0);
  if (against.length) return { verdict: 'does not hold', decisive: weakest(against) };
  const open = cs.filter((c) => !(c.pAdjusted < ALPHA && c.sign * c.effect > 0));
  if (open.length) return { verdict: 'inconclusive', decisive: open.reduce((w, c) => (c.pAdjusted > w.pAdjusted ? c : w)) };
  return { verdict: 'holds', decisive: cs.reduce((w, c) => (c.pAdjusted > w.pAdjusted ? c : w)) };
}

function finish(claim: ClaimSpec, dataset: string, cs: Comparison[]): ClaimResult {
  const adj = holm(cs.map((c) => c.p));
  cs.forEach((c, i) => (c.pAdjusted = cs.length === 1 ? c.p : adj[i]!));
  return { claim, dataset, ...verdictOf(cs), comparisons: cs };
}

function pairwise(claim: BestClaim | BetterClaim, rows: readonly ResultRow[], swept: readonly string[], dataset: string): ClaimResult {
  const sign = claim.goal === 'higher' ? 1 : -1;
  const cs: Comparison[] = [];
  if (claim.kind === 'best') {
    const col = columnOf(claim.param);
    const others: Scalar[] = [];
    for (const r of rows) {
      const v = r[col];
      if (v === null || v === undefined || v === '' || sameScalar(v, claim.value)) continue;
      if (!others.some((o) => sameScalar(o, v))) others.push(v as Scalar);
    }
    for (const o of others)
      cs.push(
        compare(
          `${showValue(claim.value)} vs ${showValue(o)}`,
          claim.metric.text,
          pairUp(rows, swept, claim.param, claim.value, o, claim.metric),
          sign,
          others.length,
        ),
      );
    if (cs.length === 0) cs.push(compare(`${showValue(claim.value)} vs (no other value)`, claim.metric.text, [], sign, 1));
  } else if (claim.param === null) {
    const ma = parseSimple(String(claim.a));
    const mb = parseSimple(String(claim.b[0]));
    const pairs = rows.flatMap((r) => {
      const a = metricValue(r, ma);
      const b = metricValue(r, mb);
      return a !== null && b !== null ? [{ a, b, row: r }] : [];
    });
    cs.push(compare(`${claim.a} − ${claim.b[0]}`, `${claim.a} − ${claim.b[0]}`, pairs, sign, 1));
  } else {
    const m = claim.b.length * claim.metrics.length;
    for (const metric of claim.metrics) {
      for (const b of claim.b)
        cs.push(compare(`${showValue(claim.a)} vs ${showValue(b)}`, metric.text, pairUp(rows, swept, claim.param, claim.a, b, metric), sign, m));
    }
  }
  return finish(claim, dataset, cs);
}

/** A metric name or "a - b" / "|a - b|" as validated by the parser. */
function parseSimple(s: string): MetricExpr {
  const abs = /^\s*\|.*\|\s*$/.test(s);
  const inner = s.replace(/\|/g, '').trim();
  const [a, b] = inner.split('-').map((x) => x.trim());
  return { a: a!, ...(b ? { b } : {}), abs, text: s };
}

/** Permutations drawn for a trend's p-value when there are more orderings than this. */
export const PERMUTATIONS = 20000;

function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function permutations(n: number): number[][] {
  if (n <= 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}

/**
 * p-value of the mean within-block Spearman ρ under "no trend": in each block the metric values
 * are exchangeable across parameter values, so every reordering within a block is as likely.
 * Exact when the orderings are few enough to list, else a seeded Monte Carlo of PERMUTATIONS
 * draws (add-one, so never 0). Unlike a t-test on the ρs, this stays honest when every block
 * shows the same ρ (e.g. 2 parameter values: ρ = ±1 always).
 */
export function trendPValue(groups: ReadonlyArray<{ x: number[]; y: number[] }>): number {
  if (groups.length === 0) return NaN;
  const stat = (ys: number[][]): number => groups.reduce((s, g, i) => s + spearman(g.x, ys[i]!), 0) / groups.length;
  const observed = Math.abs(stat(groups.map((g) => g.y)));
  const eps = 1e-12;
  const total = groups.reduce((p, g) => p * factorial(g.y.length), 1);
  if (total <= PERMUTATIONS) {
    const perms = groups.map((g) => permutations(g.y.length));
    let hits = 0;
    const walk = (i: number, ys: number[][]): void => {
      if (i === groups.length) {
        if (Math.abs(stat(ys)) >= observed - eps) hits++;
        return;
      }
      for (const p of perms[i]!) walk(i + 1, [...ys, p.map((k) => groups[i]!.y[k]!)]);
    };
    walk(0, []);
    return hits / total;
  }
  const rng = new Rng(12345);
  let hits = 0;
  for (let k = 0; k < PERMUTATIONS; k++) {
    if (Math.abs(stat(groups.map((g) => shuffle([...g.y], rng)))) >= observed - eps) hits++;
  }
  return (hits + 1) / (PERMUTATIONS + 1);
}

function trend(claim: TrendClaim, rows: readonly ResultRow[], swept: readonly string[], dataset: string): ClaimResult {
  const col = columnOf(claim.param);
  const groups: Array<{ x: number[]; y: number[]; row: ResultRow; cells: string[] }> = [];
  for (const members of blocks(rows, claim.param, swept).values()) {
    const pts = members.flatMap((r) => {
      const x = num(r[col]);
      const y = metricValue(r, claim.metric);
      return x !== null && y !== null ? [{ x, y, cell: text(r.cell) }] : [];
    });
    if (new Set(pts.map((p) => p.x)).size < 2) continue;
    groups.push({ x: pts.map((p) => p.x), y: pts.map((p) => p.y), row: members[0]!, cells: pts.map((p) => p.cell) });
  }
  const others = swept.filter((c) => c !== claim.param && !Object.keys(claim.where).includes(c));
  const rhos = groups.map((g) => spearman(g.x, g.y));
  const t = pairedTTest(rhos);
  const p = trendPValue(groups);
  const sign = claim.direction === 'increasing' ? 1 : -1;
  let need = pairsNeeded(t.mean, t.sd, ALPHA);
  if (t.sd === 0 && t.mean !== 0 && !(p < ALPHA)) {
    // Every block already shows the same ρ: count the blocks at which that agreement would be
    // significant, from the chance of one block's ordering matching it.
    const orderings = groups.reduce((s, g) => s + factorial(g.x.length), 0) / groups.length;
    need = Math.floor(Math.log(ALPHA / 2) / Math.log(1 / orderings)) + 1;
  }
  const perSeed = seedsPerPair(groups.map((g) => g.row));
  const c: Comparison = {
    label: `${claim.param} vs ${claim.metric.text}`,
    metric: claim.metric.text,
    aMean: NaN,
    bMean: NaN,
    effect: t.mean,
    ciLow: Number.isFinite(t.ciLow) ? Math.max(-1, t.ciLow) : t.ciLow,
    ciHigh: Number.isFinite(t.ciHigh) ? Math.min(1, t.ciHigh) : t.ciHigh,
    p,
    pAdjusted: p,
    nPairs: groups.length,
    sign,
    seedsNeeded: Number.isFinite(need) ? Math.ceil(need / perSeed) : need,
    pairs: [],
    blocks: groups.map((g, i) => ({
      seed: text(g.row.seed),
      label: others
        .filter((k) => text(g.row[k]) !== '')
        .map((k) => `${k}=${text(g.row[k])}`)
        .join(', '),
      rho: rhos[i]!,
      points: g.x.map((x, j) => ({ x, y: g.y[j]!, cell: g.cells[j]! })),
    })),
  };
  return finish(claim, dataset, [c]);
}

function matches(row: ResultRow, where: Record<string, Scalar>): boolean {
  return Object.entries(where).every(([k, v]) => sameScalar(row[columnOf(k)], v));
}

/**
 * Every claim's verdict on every dataset of the rows (in claim order, datasets as first seen).
 * `swept` lists the swept columns of results.csv (between loss and seed).
 */
export function evaluateClaims(claims: readonly ClaimSpec[], rows: readonly ResultRow[], swept: readonly string[]): ClaimResult[] {
  const datasets = [...new Set(rows.map((r) => text(r.dataset)))];
  const out: ClaimResult[] = [];
  for (const claim of claims) {
    for (const dataset of datasets) {
      const mine = rows.filter((r) => text(r.dataset) === dataset && matches(r, claim.where));
      if (mine.length === 0) continue;
      out.push(claim.kind === 'trend' ? trend(claim, mine, swept, dataset) : pairwise(claim, mine, swept, dataset));
    }
  }
  return out;
}
