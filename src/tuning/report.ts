import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeHtml as h } from '../report/escape.js';
import type { TuningReport } from './outputs.js';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const f = (x: number | null | undefined, d = 4): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');

/** Best validation objective so far against the trial number, one line per loss (inline SVG: no script needed). */
function bestSoFarSvg(series: TuningReport['bestSoFar'], objective: string): string {
  const W = 560;
  const H = 260;
  const m = { l: 56, r: 130, t: 12, b: 36 };
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const n = Math.max(1, ...series.map((s) => s.values.length));
  if (all.length === 0) return '<p class="note">No finished trial.</p>';
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.01, hi + 0.01];
  const x = (i: number): number => m.l + (n === 1 ? 0.5 : i / (n - 1)) * (W - m.l - m.r);
  const y = (v: number): number => m.t + (1 - (v - lo) / (hi - lo)) * (H - m.t - m.b);
  const lines = series.map((s, k) => {
    const pts = s.values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
    const c = COLOURS[k % COLOURS.length]!;
    return (
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(' ')}"/>` +
      `<text x="${W - m.r + 8}" y="${m.t + 14 + 16 * k}" fill="${c}" font-size="12">${h(s.loss)}</text>`
    );
  });
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(3)}</text>`);
  const xt = [0, n - 1].map((i) => `<text x="${x(i)}" y="${H - m.b + 16}" text-anchor="middle" font-size="11">${i + 1}</text>`);
  return (
    `<svg class="best-so-far" role="img" aria-label="best validation ${h(objective)} so far against trials" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">` +
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#ccc"/>` +
    lines.join('') +
    ticks.join('') +
    xt.join('') +
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 4}" text-anchor="middle" font-size="12">trial</text>` +
    `</svg>`
  );
}

function table(header: string[], rows: string[][], cls = ''): string {
  return `<div class="table-wrap"><table${cls ? ` class="${cls}"` : ''}><thead><tr>${header.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

/** The fair-comparison section of an experiment's report, or null when it was not tuned. */
export function tuningSection(resultsDir: string, experiment: string): string | null {
  const path = join(resultsDir, experiment, 'tuning-report.json');
  if (!existsSync(path)) return null;
  const r = JSON.parse(readFileSync(path, 'utf8')) as TuningReport;
  const datasets = [...new Set(r.chosen.map((c) => c.dataset))];
  const parts: string[] = [];
  parts.push(
    `<p class="note">Each loss tuned with ${r.budget} trials (${h(r.strategy)}) on ${r.folds} class-disjoint validation folds of the train classes; ` +
      `objective: validation ${h(r.objective)} averaged over the folds. The test classes were not read while tuning. The chosen configurations ` +
      `were then trained on all train classes and evaluated on test with seeds ${h(r.seeds.join(', '))}: mean and 95% t-interval; pairs compared ` +
      `paired over seeds, p-values Holm-adjusted.</p>`,
  );
  for (const ds of datasets) {
    parts.push(`<h3>${h(ds)}</h3>`);
    parts.push(
      `<figure><figcaption>Best validation ${h(r.objective)} so far</figcaption>${bestSoFarSvg(
        r.bestSoFar.filter((s) => s.dataset === ds),
        r.objective,
      )}</figure>`,
    );
    parts.push(
      `<h4>Chosen values</h4>` +
        table(
          ['loss', 'trial', `validation ${r.objective}`, 'values'],
          r.chosen
            .filter((c) => c.dataset === ds)
            .map((c) => [
              h(c.loss),
              String(c.trial),
              f(c.meanObjective),
              h(
                Object.entries(c.values)
                  .map(([k, v]) => `${k} = ${v}`)
                  .join(', ') || '(defaults)',
              ),
            ]),
        ),
    );
    const metrics = [...new Set(r.test.filter((t) => t.dataset === ds).map((t) => t.metric))];
    const losses = [...new Set(r.test.filter((t) => t.dataset === ds).map((t) => t.loss))];
    parts.push(
      `<h4>Test</h4>` +
        table(
          ['loss', ...metrics, 'n'],
          losses.map((l) => {
            const row = metrics.map((m) => {
              const t = r.test.find((x) => x.dataset === ds && x.loss === l && x.metric === m);
              return t ? `${f(t.mean)} [${f(t.ci95Low)}, ${f(t.ci95High)}]` : '';
            });
            return [h(l), ...row, String(r.test.find((x) => x.dataset === ds && x.loss === l)?.n ?? '')];
          }),
          'test-table',
        ),
    );
    parts.push(
      `<h4>Pairwise (test ${h(r.objective)}, paired over seeds)</h4>` +
        table(
          ['a − b', 'difference [95% CI]', 'p', 'p (Holm)', 'verdict'],
          r.comparisons
            .filter((c) => c.dataset === ds)
            .map((c) => [h(`${c.a} − ${c.b}`), `${f(c.meanDiff)} [${f(c.ci95Low)}, ${f(c.ci95High)}]`, f(c.p, 3), f(c.pHolm, 3), h(c.verdict)]),
        ),
    );
    const fair = r.fairness.find((x) => x.dataset === ds)?.rows ?? [];
    const flagged = fair.filter((x) => x.status === 'differs');
    parts.push(
      `<h4>Fairness</h4>` +
        (flagged.length
          ? flagged.map((x) => `<p class="chart-error fairness-flag">${h(x.note)}</p>`).join('')
          : '<p class="note">Nothing differs between the losses beyond the values tuned under the same budget.</p>') +
        table(
          ['setting', 'status', 'value(s)'],
          fair.map((x) => [
            h(x.key),
            h(x.status),
            h(
              Object.entries(x.values)
                .map(([k, v]) => (k === '*' ? v : `${k}: ${v}`))
                .join('; '),
            ),
          ]),
          'fairness',
        ),
    );
  }
  return `<section id="fair-comparison">\n<h2>Fair comparison</h2>\n${parts.join('\n')}\n</section>\n`;
}

/** The report page with the fair-comparison section first, when the experiment was tuned. */
export function withTuningSection(html: string, resultsDir: string, experiment: string): string {
  const section = tuningSection(resultsDir, experiment);
  if (!section) return html;
  const at = html.indexOf('<section id="charts">');
  return at < 0 ? html.replace('</body>', `${section}</body>`) : html.slice(0, at) + section + html.slice(at);
}
