/** Claim verdicts as claims.csv rows and as one-line sentences (CLI summary, report, check). */
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { formatValue, toCsv, type Table } from '../experiments/tables.js';
import { PERMUTATIONS, type ClaimResult, type Comparison } from './evaluate.js';

export const CLAIMS_FILE = 'claims.csv';

export const CLAIM_COLUMNS = [
  'claim',
  'dataset',
  'kind',
  'verdict',
  'effect',
  'ci_low',
  'ci_high',
  'p',
  'p_adjusted',
  'n_pairs',
  'compared',
  'metric',
  'a_mean',
  'b_mean',
  'seeds_needed',
  'decisive',
  'pin',
];

/** claims.csv: one row per comparison; `decisive` marks the one behind each claim × dataset verdict. */
export function claimsTable(results: readonly ClaimResult[]): Table {
  const rows = results.flatMap((r) =>
    r.comparisons.map((c) => {
      const v: Record<string, unknown> = {
        claim: r.claim.text,
        dataset: r.dataset,
        kind: r.claim.kind,
        verdict: r.verdict,
        effect: c.effect,
        ci_low: c.ciLow,
        ci_high: c.ciHigh,
        p: c.p,
        p_adjusted: c.pAdjusted,
        n_pairs: c.nPairs,
        compared: c.label,
        metric: c.metric,
        a_mean: c.aMean,
        b_mean: c.bMean,
        seeds_needed: Number.isFinite(c.seedsNeeded) ? c.seedsNeeded : Number.isNaN(c.seedsNeeded) ? null : 'never',
        decisive: c === r.decisive,
        pin: r.claim.pin ?? null,
      };
      return Object.fromEntries(CLAIM_COLUMNS.map((k) => [k, formatValue(v[k])]));
    }),
  );
  return { columns: CLAIM_COLUMNS, rows };
}

/** Writes results/<experiment>/claims.csv (header only when the experiment states no claim). */
export function writeClaimsCsv(dir: string, results: readonly ClaimResult[]): string {
  const path = join(dir, CLAIMS_FILE);
  writeFileAtomic(path, toCsv(claimsTable(results)));
  return path;
}

function fixed(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  const s = x.toFixed(digits);
  return x > 0 ? `+${s}` : s;
}

export function formatP(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  if (p === 0) return '0';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

/** "effect [low, high], p = …" of a comparison, as the CLI and the report show it. */
export function evidence(c: Comparison, kind: string): string {
  const what = kind === 'trend' ? `Spearman ρ ${fixed(c.effect, 3)}` : `Δ ${fixed(c.effect)}`;
  const ci = Number.isFinite(c.ciLow) ? ` [${fixed(c.ciLow, kind === 'trend' ? 3 : 4)}, ${fixed(c.ciHigh, kind === 'trend' ? 3 : 4)}]` : '';
  // A Monte Carlo permutation p-value at its floor only bounds the true one.
  const eq = kind === 'trend' && c.p <= 1 / (PERMUTATIONS + 1) + 1e-15 ? '≤' : '=';
  const p = c.pAdjusted !== c.p ? `p = ${formatP(c.p)}, Holm ${formatP(c.pAdjusted)}` : `p ${eq} ${formatP(c.p)}`;
  return `${c.label}${kind === 'trend' || c.label === c.metric ? '' : ` on ${c.metric}`}: ${what}${ci}, ${p}, ${c.nPairs} pair${c.nPairs === 1 ? '' : 's'}`;
}

/** What would decide an open verdict, from the observed spread. */
export function needNote(r: ClaimResult): string {
  const c = r.decisive;
  if (r.verdict === 'not enough seeds') return 'a verdict needs 3 or more pairs (run more seeds)';
  if (r.verdict !== 'inconclusive') return '';
  if (Number.isNaN(c.seedsNeeded)) return '';
  if (!Number.isFinite(c.seedsNeeded)) return 'no effect seen: more seeds would probably not decide it';
  return `about ${c.seedsNeeded} seeds would probably decide it`;
}

/** One line per claim and dataset: "holds  synthetic  <sentence>  (evidence)". */
export function verdictLines(results: readonly ClaimResult[]): string[] {
  return results.map((r) => {
    const note = needNote(r);
    return `${r.verdict.padEnd(16)} ${r.dataset}: ${r.claim.text} (${evidence(r.decisive, r.claim.kind)}${note ? `; ${note}` : ''})`;
  });
}
