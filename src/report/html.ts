import { escapeHtml as h, jsonForScript, scriptSafe } from './escape.js';
import { metricLabel } from './metric-names.js';
import type { Bundle } from './bundles.js';
import type { ChartSpec } from './specs.js';
import { EXPLORER_STYLE } from './explorer.js';
import { formatCell, type SummaryTable } from './summary-table.js';

/**
 * Nothing may leave the page: scripts and styles only inline, no fetch, no images from anywhere
 * but data: URLs. 'unsafe-eval' because vega compiles its expressions with Function.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src data:";

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 3rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta { color: #555; margin-top: 0; } nav a { margin-right: 1rem; }
pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; font-size: .82rem; border-radius: 4px; }
figure { margin: 1.2rem 0; } figcaption { font-weight: bold; margin-bottom: .4rem; }
.chart { overflow-x: auto; } .chart-error { color: #b00020; white-space: pre-wrap; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; } th, td { padding: .25rem .6rem; border-bottom: 1px solid #e5e5e5; white-space: nowrap; }
th { background: #fafafa; text-align: left; position: sticky; top: 0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; } .note { color: #555; font-size: .85rem; } .note.warning { color: #a31515; font-weight: bold; }
.findings > li { margin-bottom: .8rem; } .findings .claim { font-weight: bold; margin: .2rem 0; } .findings ul { margin: .2rem 0; }
.verdict { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-size: .8rem; font-weight: bold; color: #fff; }
.v-holds { background: #2e7d32; } .v-fails { background: #c62828; } .v-open { background: #757575; } .chart-link { font-weight: normal; font-size: .85rem; }
`;

/**
 * Embeds every chart with the SVG renderer (marks stay countable DOM elements), marks the body
 * data-rendered="true" when all are drawn, or "error" after showing each failure in its figure.
 * The specs come from <script type="application/json"> elements, so no string is ever evaluated.
 */
const RENDER_SCRIPT = `
(function () {
  var charts = Array.prototype.slice.call(document.querySelectorAll('.chart[data-chart]'));
  var jobs = charts.map(function (el) {
    var spec = JSON.parse(document.getElementById('spec-' + el.getAttribute('data-chart')).textContent);
    return vegaEmbed(el, spec, { mode: 'vega-lite', renderer: 'svg', actions: false });
  });
  Promise.allSettled(jobs).then(function (results) {
    var failed = 0;
    results.forEach(function (r, i) {
      if (r.status === 'rejected') {
        failed++;
        var msg = document.createElement('p');
        msg.className = 'chart-error';
        msg.textContent = 'This chart could not be drawn: ' + (r.reason && r.reason.message || r.reason);
        charts[i].appendChild(msg);
        console.error('chart ' + charts[i].getAttribute('data-chart') + ' failed:', r.reason);
      }
    });
    document.body.setAttribute('data-rendered', failed ? 'error' : 'true');
  });
})();
`;

export interface ReportPage {
  experiment: string;
  subtitle: string;
  command: string;
  charts: ChartSpec[];
  /** The Findings section's body (src/report/findings.ts). */
  findings?: string;
  /** The τ explorer section (src/report/explorer.ts), '' when the results hold no batch for it. */
  explorer?: string;
  skipped: string[];
  /** Plain-text notes shown above the summary table (e.g. training that made retrieval worse). */
  notes?: string[];
  table: SummaryTable;
  resolved: unknown;
  manifest: unknown;
  bundles: Bundle[];
}

function tableHtml(t: SummaryTable): string {
  const head = [
    ...t.groupColumns.map((c) => `<th scope="col">${h(c)}</th>`),
    '<th scope="col">n</th>',
    ...t.metrics.map((m) => `<th scope="col" data-metric="${h(m)}" title="${h(m)}">${h(metricLabel(m))}</th>`),
  ].join('');
  const body = t.rows
    .map((r) => {
      const keys = t.groupColumns.map((c) => `<td data-column="${h(c)}">${h(r.key[c] ?? '—')}</td>`).join('');
      const n = `<td class="num" data-column="n">${h(r.n ?? '—')}</td>`;
      const vals = t.metrics
        .map((m) => {
          const c = r.cells[m];
          if (!c) return `<td class="num" data-metric="${h(m)}">—</td>`;
          const cls = r.best.has(m) ? 'num best' : 'num';
          return `<td class="${cls}" data-metric="${h(m)}" data-mean="${c.mean}">${h(formatCell(c, t.decimals[m]!))}</td>`;
        })
        .join('');
      return `<tr>${keys}${n}${vals}</tr>`;
    })
    .join('\n');
  return `<div class="table-wrap"><table id="summary-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}

/** The self-contained report page of one experiment. */
export function reportHtml(p: ReportPage): string {
  const figures = p.charts
    // The chart draws its own title; the label is for screen readers.
    .map((c) => `<figure aria-label="${h(c.title)}"><div class="chart" id="chart-${h(c.name)}" data-chart="${h(c.name)}"></div></figure>`)
    .join('\n');
  const skipped = p.skipped.length ? `<p class="note">Not drawn: ${p.skipped.map(h).join('; ')}.</p>` : '';
  // $schema is a URL that nothing fetches; leaving it out keeps the page free of addresses.
  const specs = p.charts
    .map(({ name, spec }) => {
      const { $schema: _schema, ...inline } = spec;
      return `<script type="application/json" id="spec-${h(name)}">${jsonForScript(inline)}</script>`;
    })
    .join('\n');
  const libs = p.bundles.map((b) => `<script data-library="${h(b.name)}" data-version="${h(b.version)}">\n${scriptSafe(b.source)}\n</script>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(CONTENT_SECURITY_POLICY)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rankbench report: ${h(p.experiment)}</title>
<style>${STYLE}${p.explorer ? EXPLORER_STYLE : ''}</style>
</head>
<body>
<header>
<h1>rankbench report: ${h(p.experiment)}</h1>
<p class="meta">${h(p.subtitle)}</p>
<nav><a href="#findings">Findings</a><a href="#charts">Charts</a>${p.explorer ? '<a href="#explorer">τ explorer</a>' : ''}<a href="#summary">Summary table</a><a href="#reproduce">Reproduce</a><a href="#configuration">Configuration</a><a href="#manifest">Manifest</a></nav>
</header>
<section id="findings">
<h2>Findings</h2>
${p.findings ?? ''}
</section>
<section id="charts">
<h2>Charts</h2>
${figures || '<p class="note">No chart: the results hold no plottable metric.</p>'}
${skipped}
</section>
${p.explorer ?? ''}
<section id="summary">
<h2>Summary table</h2>
<p class="note">Mean over seeds ± half-width of the 95% confidence interval (from summary.csv); n = number of seeds; bold = best mean for the dataset.</p>
${(p.notes ?? []).map((n) => `<p class="note warning">${h(n)}</p>`).join('\n')}
${tableHtml(p.table)}
<p class="note">mAP, MAP@R, R@K: the whole test split under the protocol above. input mAP: the dataset's own features (L2-normalised) under the same protocol; untrained: the randomly initialised model. AP estimate and true AP: measured on the estimate batches (PK batches of the test embeddings, the training's B and P) — the loss's own estimate of each query's AP beside that query's exact AP on the same batch, same convention; a batch is a far easier retrieval problem than the whole test split.</p>
</section>
<section id="reproduce">
<h2>Reproduce</h2>
<pre id="command"><code>${h(p.command)}</code></pre>
</section>
<section id="configuration">
<h2>Resolved configuration</h2>
<pre id="resolved">${h(JSON.stringify(p.resolved ?? null, null, 2))}</pre>
</section>
<section id="manifest">
<h2>Manifest</h2>
<pre id="manifest-json">${h(JSON.stringify(p.manifest ?? null, null, 2))}</pre>
</section>
${specs}
${libs}
<script>${RENDER_SCRIPT}</script>
</body>
</html>
`;
}

export interface IndexEntry {
  experiment: string;
  /** Folder name under reports/ (the link target is <folder>/index.html). */
  folder: string;
  cells: number | null;
  datasets: string[];
  losses: string[];
  swept: string[];
  finishedAt: string | null;
  /** Claim verdicts (claim × dataset) by verdict, e.g. { holds: 2, inconclusive: 1 }; absent without claims. */
  verdicts?: Record<string, number>;
}

function verdictSummary(v: Record<string, number> | undefined): string {
  const parts = Object.entries(v ?? {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`);
  return parts.join(', ') || '—';
}

/** reports/index.html: one line per experiment report, linked relatively so the folder can move. */
export function indexHtml(entries: IndexEntry[]): string {
  const rows = entries
    .map(
      (e) =>
        `<tr><td><a href="${h(encodeURIComponent(e.folder))}/index.html">${h(e.experiment)}</a></td>` +
        `<td class="num">${h(e.cells ?? '—')}</td><td>${h(e.datasets.join(', '))}</td><td>${h(e.losses.join(', '))}</td>` +
        `<td>${h(e.swept.join(', ') || '—')}</td><td>${h(verdictSummary(e.verdicts))}</td><td>${h(e.finishedAt ?? '—')}</td></tr>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h("default-src 'none'; style-src 'unsafe-inline'")}">
<title>rankbench reports</title>
<style>${STYLE}</style>
</head>
<body>
<h1>rankbench reports</h1>
${entries.length ? `<table id="reports"><thead><tr><th>experiment</th><th>cells</th><th>datasets</th><th>losses</th><th>swept</th><th>claims</th><th>finished</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>` : '<p>No report yet: run <code>npx bench run &lt;experiment&gt;</code>, then <code>npx bench report</code>.</p>'}
</body>
</html>
`;
}
