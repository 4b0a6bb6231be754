import { plainTable } from '../core/text-table.js';
import type { TuningReport } from './outputs.js';

const f = (x: number, d = 4): string => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** The terminal summary of a finished tuning run: chosen values, test table, verdicts, fairness flags. */
export function formatTuneSummary(r: TuningReport): string {
  const out: string[] = [];
  out.push(`chosen on validation (${r.objective}, mean over ${r.folds} folds; ${r.strategy}, ${r.budget} trials per loss):`);
  out.push(
    plainTable(
      ['dataset', 'loss', 'trial', `val ${r.objective}`, 'values'],
      r.chosen.map((c) => [
        c.dataset,
        c.loss,
        String(c.trial),
        f(c.meanObjective),
        Object.entries(c.values)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ]),
    ),
  );
  out.push('', `test (seeds ${r.seeds.join(',')}; mean [95% CI]):`);
  const rows = r.test.filter((t) => t.metric === r.objective);
  out.push(
    plainTable(
      ['dataset', 'loss', r.objective],
      rows.map((t) => [t.dataset, t.loss, `${f(t.mean)} [${f(t.ci95Low)}, ${f(t.ci95High)}]`]),
    ),
  );
  if (r.comparisons.length) {
    out.push('', `pairwise, paired over seeds (Holm-adjusted p):`);
    out.push(
      plainTable(
        ['dataset', 'a − b', 'diff [95% CI]', 'p (Holm)', 'verdict'],
        r.comparisons.map((c) => [c.dataset, `${c.a} − ${c.b}`, `${f(c.meanDiff)} [${f(c.ci95Low)}, ${f(c.ci95High)}]`, f(c.pHolm, 3), c.verdict]),
      ),
    );
  }
  for (const fp of r.fairness) for (const row of fp.rows) if (row.status === 'differs') out.push(`warning: ${fp.dataset}: ${row.note}`);
  return out.join('\n');
}
