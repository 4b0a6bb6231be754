/**
 * The τ explorer: one real test batch of the run (a cell's stored example batch) inlined in the
 * page, and a slider over Smooth-AP's temperature that recomputes, in the page, the batch's AP
 * estimate against its exact AP and, for one chosen query, each positive's soft rank against
 * its true rank. The page's formulas are those of `bench loss smooth-ap` (src/losses/smooth-ap.ts
 * and src/metrics/average-precision.ts), so the same batch at the same τ gives the same numbers.
 */
import { escapeHtml as h, jsonForScript } from './escape.js';
import type { CellRecord, ExperimentResults } from './read-results.js';

/** The Smooth-AP temperature columns a sweep may have. */
const TAU_COLUMNS = ['loss.params.tau', 'estimator.params.tau'];
const ESTIMATOR = 'estimator.name';

export interface ExplorerData {
  /** The slider's stops, ascending: a log grid from 0.001 to 1 plus every τ the experiment swept. */
  taus: number[];
  cell: string;
  dataset: string;
  seed: number | null;
  /** The cell's own τ (the slider starts there). */
  tau: number;
  includeQuery: boolean;
  embeddings: number[][];
  labels: number[];
}

function smoothApCell(c: CellRecord): { tau: number } | null {
  const name = c.swept[ESTIMATOR] ?? c.loss;
  if (name !== 'smooth-ap' || !c.exampleBatch || c.includeQuery === null) return null;
  for (const col of TAU_COLUMNS) {
    const tau = c.swept[col];
    if (typeof tau === 'number' && tau > 0) return { tau };
  }
  return null;
}

/**
 * The batch to explore: a Smooth-AP cell of an experiment that sweeps τ, preferring the paper's
 * τ = 0.01, then the first dataset and the lowest seed. null when no such cell kept a batch.
 */
export function explorerData(exp: ExperimentResults): ExplorerData | null {
  const candidates = exp.cells.flatMap((c) => {
    const s = smoothApCell(c);
    return s ? [{ c, tau: s.tau }] : [];
  });
  if (candidates.length === 0) return null;
  const datasets = [...new Set(exp.results.map((r) => String(r.dataset)))];
  candidates.sort(
    (a, b) =>
      Number(b.tau === 0.01) - Number(a.tau === 0.01) ||
      datasets.indexOf(a.c.dataset) - datasets.indexOf(b.c.dataset) ||
      (a.c.seed ?? 0) - (b.c.seed ?? 0) ||
      a.c.id.localeCompare(b.c.id),
  );
  const { c, tau } = candidates[0]!;
  const grid = Array.from({ length: 61 }, (_, k) => Number((10 ** (-3 + k * 0.05)).toPrecision(3)));
  const swept = candidates.map((x) => x.tau);
  const taus = [...new Set([...grid, ...swept])].sort((a, b) => a - b);
  return {
    taus,
    cell: c.id,
    dataset: c.dataset,
    seed: c.seed,
    tau,
    includeQuery: c.includeQuery!,
    embeddings: c.exampleBatch!.embeddings,
    labels: c.exampleBatch!.labels,
  };
}

/** In-page computation; kept in plain ES5 so the page needs nothing but the browser. */
const EXPLORER_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('explorer-data').textContent);
  var X = data.embeddings, y = data.labels, n = X.length, d = X[0].length, incl = data.includeQuery;
  var S = [];
  for (var i = 0; i < n; i++) {
    S.push(new Float64Array(n));
    for (var j = 0; j < n; j++) { var s = 0; for (var t = 0; t < d; t++) s += X[i][t] * X[j][t]; S[i][j] = s; }
  }
  var E50 = Math.exp(50), EM50 = Math.exp(-50);
  // sigma((s_j - s_i)/tau) with exp(-(s_j - s_i)/tau) clamped to [e^-50, e^50], as the loss does.
  function sig(si, sj, tau) { return 1 / (1 + Math.min(E50, Math.max(EM50, Math.exp((si - sj) / tau)))); }
  function positivesOf(q) {
    var pos = [], others = 0;
    for (var j = 0; j < n; j++) if (y[j] === y[q]) { if (j !== q) others++; if (j !== q || incl) pos.push(j); }
    return others ? pos : null;
  }
  // Soft and true rank of each positive of query q among the retrieval set.
  function ranks(q, tau) {
    var pos = positivesOf(q); if (!pos) return null;
    var skip = incl ? -1 : q, row = S[q], out = [];
    for (var a = 0; a < pos.length; a++) {
      var i = pos[a], si = row[i], all = 1, inPos = 1, above = 0;
      for (var j = 0; j < n; j++) {
        if (j === i || j === skip) continue;
        all += sig(si, row[j], tau);
        if (row[j] > si) above++;
      }
      for (var m = 0; m < pos.length; m++) if (m !== a) inPos += sig(si, row[pos[m]], tau);
      out.push({ item: i, score: si, soft: all, softPos: inPos, trueRank: 1 + above });
    }
    return out;
  }
  // Exact AP with ties as scikit-learn's average_precision_score.
  function trueAp(q) {
    var pos = positivesOf(q); if (!pos) return NaN;
    var isPos = {}; pos.forEach(function (p) { isPos[p] = true; });
    var items = [];
    for (var j = 0; j < n; j++) if (incl || j !== q) items.push(j);
    var row = S[q];
    items.sort(function (a, b) { return row[b] - row[a]; });
    var tp = 0, seen = 0, ap = 0;
    for (var k = 0; k < items.length; ) {
      var e = k, g = 0;
      while (e < items.length && row[items[e]] === row[items[k]]) { if (isPos[items[e]]) g++; e++; }
      tp += g; seen += e - k;
      if (g) ap += (g / pos.length) * (tp / seen);
      k = e;
    }
    return ap;
  }
  function estimate(tau) {
    var est = 0, exact = 0, c = 0;
    for (var q = 0; q < n; q++) {
      var r = ranks(q, tau); if (!r) continue;
      var ap = 0; r.forEach(function (p) { ap += p.softPos / p.soft; });
      ap /= r.length;
      est += ap; exact += trueAp(q); c++;
    }
    return { estimate: est / c, trueAP: exact / c };
  }
  var slider = document.getElementById('explorer-tau');
  var select = document.getElementById('explorer-query');
  for (var q = 0; q < n; q++) if (positivesOf(q)) {
    var o = document.createElement('option'); o.value = String(q); o.textContent = 'item ' + q + ' (class ' + y[q] + ')'; select.appendChild(o);
  }
  function put(id, v, digits) { var el = document.getElementById(id); el.setAttribute('data-value', String(v)); el.textContent = v.toFixed(digits); }
  function update() {
    var tau = data.taus[Number(slider.value)];
    var out = document.getElementById('explorer-tau-value');
    out.setAttribute('data-tau', String(tau)); out.textContent = String(tau);
    var r = estimate(tau);
    put('explorer-estimate', r.estimate, 6); put('explorer-true', r.trueAP, 6); put('explorer-gap', r.estimate - r.trueAP, 6);
    var body = document.getElementById('explorer-ranks');
    while (body.firstChild) body.removeChild(body.firstChild);
    var max = 1;
    var rs = ranks(Number(select.value), tau);
    rs.forEach(function (p) { max = Math.max(max, p.soft, p.trueRank); });
    rs.sort(function (a, b) { return a.trueRank - b.trueRank; }).forEach(function (p) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-item', String(p.item));
      [['item', String(p.item)], ['score', p.score.toFixed(6)], ['true', String(p.trueRank)], ['soft', p.soft.toFixed(4)]].forEach(function (c) {
        var td = document.createElement('td'); td.className = c[0] === 'item' ? '' : 'num'; td.setAttribute('data-column', c[0]); td.textContent = c[1];
        if (c[0] === 'soft') td.setAttribute('data-value', String(p.soft));
        tr.appendChild(td);
      });
      var bar = document.createElement('td'); bar.className = 'bars';
      [['true', p.trueRank, '#4c78a8'], ['soft', p.soft, '#e45756']].forEach(function (b) {
        var div = document.createElement('div'); div.className = 'bar'; div.title = b[0] + ' rank ' + b[1];
        div.style.width = (100 * b[1] / max).toFixed(1) + '%'; div.style.background = b[2]; bar.appendChild(div);
      });
      tr.appendChild(bar);
      body.appendChild(tr);
    });
    document.getElementById('explorer').setAttribute('data-ready', 'true');
  }
  slider.addEventListener('input', update);
  select.addEventListener('change', update);
  update();
})();
`;

export const EXPLORER_STYLE = `
#explorer .controls { display: flex; gap: 1.5rem; align-items: center; flex-wrap: wrap; margin: .6rem 0; }
#explorer input[type=range] { width: 320px; } #explorer .readout b { font-variant-numeric: tabular-nums; }
#explorer td.bars { width: 260px; } #explorer .bar { height: 6px; margin: 2px 0; }
`;

/** The explorer section: controls, read-outs, the rank table, the batch as JSON and the script. */
export function explorerHtml(x: ExplorerData): string {
  const convention = x.includeQuery ? "the query counted as its own positive (the paper's code)" : 'the query excluded (standard)';
  return `<section id="explorer" data-cell="${h(x.cell)}">
<h2>τ explorer</h2>
<p class="note">One real test batch of this run — cell ${h(x.cell)} (${h(x.dataset)}, seed ${h(x.seed ?? '—')}, trained at τ = ${h(x.tau)}), ${x.embeddings.length} items of dimension ${x.embeddings[0]?.length ?? 0} — recomputed in this page as τ moves: Smooth-AP's AP estimate beside the exact AP of the same batch, both with ${h(convention)}, and for one query each positive's soft rank (1 + Σ σ((s_j − s_i)/τ)) beside its true rank. The same numbers as <code>bench loss smooth-ap --input batch.json --set tau=…</code> on this batch.</p>
<div class="controls">
<label>τ <input type="range" id="explorer-tau" min="0" max="${x.taus.length - 1}" step="1" value="${x.taus.indexOf(x.tau)}"> <b id="explorer-tau-value"></b></label>
<label>query <select id="explorer-query"></select></label>
</div>
<p class="readout">AP estimate <b id="explorer-estimate"></b> · true AP <b id="explorer-true"></b> · gap <b id="explorer-gap"></b></p>
<div class="table-wrap"><table id="explorer-table"><thead><tr><th>positive</th><th>score s_qi</th><th>true rank</th><th>soft rank</th><th>true (blue) vs soft (red)</th></tr></thead><tbody id="explorer-ranks"></tbody></table></div>
<script type="application/json" id="explorer-data">${jsonForScript({ taus: x.taus, embeddings: x.embeddings, labels: x.labels, includeQuery: x.includeQuery })}</script>
<script>${EXPLORER_SCRIPT}</script>
</section>`;
}
