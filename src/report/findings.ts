/**
 * The report's "Findings": the experiment's claims, answered from results.csv exactly as
 * `bench run` answers them (the claims come from the manifest's resolved experiment).
 */
import { evaluateClaims, type ClaimResult, type ResultRow } from '../claims/evaluate.js';
import { evidence, needNote } from '../claims/output.js';
import type { ClaimSpec } from '../claims/types.js';
import { escapeHtml as h } from './escape.js';
import type { ExperimentResults } from './read-results.js';

export interface Findings {
  claims: ClaimSpec[];
  results: ClaimResult[];
}

function claimsOf(resolved: unknown): ClaimSpec[] {
  const claims = (resolved as { claims?: unknown } | null | undefined)?.claims;
  if (!Array.isArray(claims)) return [];
  // Written by this program's loader; a hand-edited manifest's malformed entry is left out.
  return claims.filter(
    (c): c is ClaimSpec =>
      c !== null && typeof c === 'object' && ['best', 'trend', 'better'].includes((c as ClaimSpec).kind) && typeof (c as ClaimSpec).text === 'string',
  );
}

export function findingsOf(exp: ExperimentResults): Findings {
  const claims = claimsOf(exp.manifest?.resolved);
  return { claims, results: evaluateClaims(claims, exp.results as ResultRow[], exp.swept) };
}

const VERDICT_CLASS: Record<string, string> = { holds: 'v-holds', 'does not hold': 'v-fails', inconclusive: 'v-open', 'not enough seeds': 'v-open' };

/** The Findings section; `chartOf(i)` is the id of the chart that shows claim i, if drawn. */
export function findingsHtml(f: Findings, chartOf: (claim: number) => string | null): string {
  if (f.claims.length === 0) {
    return '<p class="note">The experiment file states no claim: add <code>claims:</code> (best, trend or better) to have each run answer it.</p>';
  }
  const items = f.claims.map((claim, i) => {
    const mine = f.results.filter((r) => r.claim.text === claim.text);
    const chart = chartOf(i);
    const link = chart ? ` <a class="chart-link" href="#${h(chart)}">chart</a>` : '';
    const lines = mine.length
      ? mine
          .map((r) => {
            const note = needNote(r);
            return `<li data-dataset="${h(r.dataset)}" data-verdict="${h(r.verdict)}"><span class="verdict ${VERDICT_CLASS[r.verdict]}">${h(r.verdict)}</span> on <b>${h(r.dataset)}</b>: ${h(evidence(r.decisive, claim.kind))}${note ? `; ${h(note)}` : ''}</li>`;
          })
          .join('\n')
      : '<li><span class="verdict v-open">not answered</span>: no cell of these results matches the claim</li>';
    return `<li class="finding" data-claim="${i + 1}"><p class="claim">${h(claim.text)}${link}</p>\n<ul>\n${lines}\n</ul></li>`;
  });
  return `<p class="note">Each claim of the experiment file, tested on paired cells (same dataset, seed and other settings; only the claim's parameter differs): A vs B by a paired t-test, a trend by the mean within-block Spearman ρ with a permutation p-value; 95% intervals, α = 0.05, Holm-corrected over the comparisons of one claim; under 3 pairs, no verdict. Δ is A − B.</p>
<ol class="findings">
${items.join('\n')}
</ol>`;
}
