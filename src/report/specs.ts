import { axisTitle, planPanels, seriesLabel, shortName, xValue, type Panel } from './axes.js';
import { AP_ESTIMATE_METRICS, isRetrievalMetric, metricLabel } from './metric-names.js';
import type { CellRecord, ExperimentResults, Row, Value } from './read-results.js';

/** A Vega-Lite specification as plain JSON (checked by vega-lite's compiler when rendered). */
export type VlSpec = Record<string, unknown>;

export interface ChartSpec {
  /** File stem under reports/<experiment>/ and id of the chart in the HTML page. */
  name: string;
  title: string;
  spec: VlSpec;
}

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

const FACET_WIDTH = 220;
const FACET_HEIGHT = 140;
/** Legend labels carry parameter values; the default 160 px limit cuts them off. */
const CONFIG = { legend: { labelLimit: 400, titleLimit: 400, symbolOpacity: 1 }, title: { anchor: 'start' } };
/** Curves are thinned to this many points per cell: the page inlines every point. */
export const MAX_CURVE_POINTS = 120;

function distinctStrings(values: unknown[]): string[] {
  return [...new Set(values.map(String))];
}

function compareValues(a: Value, b: Value): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/** Legend order: losses as first seen, then the splitting parameters ascending. */
function seriesOrder(rows: Row[], panel: Panel): string[] {
  const sorted = [...rows].sort((r, s) => {
    const byLoss = panel.losses.indexOf(String(r.loss)) - panel.losses.indexOf(String(s.loss));
    if (byLoss !== 0) return byLoss;
    for (const c of panel.splitBy) {
      const d = compareValues(r[c] ?? null, s[c] ?? null);
      if (d !== 0) return d;
    }
    return 0;
  });
  return distinctStrings(sorted.map((r) => seriesLabel(r, panel)));
}

function xEncoding(panel: Panel): Record<string, unknown> {
  if (panel.categorical) {
    const angle = panel.domain.length > 3 ? -30 : 0;
    return { field: 'x', type: 'nominal', title: axisTitle(panel), sort: panel.domain, axis: { labelAngle: angle } };
  }
  return {
    field: 'x',
    type: 'quantitative',
    title: axisTitle(panel),
    scale: panel.logX ? { type: 'log' } : { zero: false, nice: false },
    axis: { values: panel.domain, labelOverlap: 'greedy' },
  };
}

function summaryRecord(row: Row, panel: Panel, extra: Record<string, unknown>): Record<string, unknown> {
  const mean = row.mean as number;
  // n = 1 has no interval: a zero-width band (rather than a gap) keeps the mean line whole.
  const low = typeof row.ci95Low === 'number' ? row.ci95Low : mean;
  const high = typeof row.ci95High === 'number' ? row.ci95High : mean;
  return {
    dataset: String(row.dataset),
    series: seriesLabel(row, panel),
    x: xValue(row, panel),
    mean,
    ci95Low: low,
    ci95High: high,
    n: row.n,
    ...extra,
  };
}

function usable(row: Row, panel: Panel): boolean {
  return typeof row.mean === 'number' && panel.losses.includes(String(row.loss)) && xValue(row, panel) !== null;
}

/** Exact numbers in tooltips (no rounding), with each seed's cell id and value. */
const TOOLTIP = [
  { field: 'series', title: 'series' },
  { field: 'x', title: 'x' },
  { field: 'mean', type: 'quantitative', title: 'mean' },
  { field: 'ci95Low', type: 'quantitative', title: 'CI95 low' },
  { field: 'ci95High', type: 'quantitative', title: 'CI95 high' },
  { field: 'n', type: 'quantitative' },
  { field: 'seeds', title: 'seed: value (cell)' },
];

type CellIndex = Map<string, Row[]>;

/** results.csv rows by group (dataset, loss, swept values): the cells behind a summary row. */
function cellIndex(exp: ExperimentResults): CellIndex {
  const index: CellIndex = new Map();
  for (const r of exp.results) {
    const k = groupKey(r, exp.swept);
    index.set(k, [...(index.get(k) ?? []), r]);
  }
  return index;
}

function groupKey(r: Row, swept: readonly string[]): string {
  return JSON.stringify([r.dataset, r.loss, ...swept.map((c) => r[c] ?? null)]);
}

/** "seed 1: 0.5485912358830684 (cell 3f2a9b0c1d2e) | seed 2: …" for a summary row's metric. */
function seedValues(index: CellIndex, swept: readonly string[], row: Row): string {
  const metric = String(row.metric);
  return (index.get(groupKey(row, swept)) ?? [])
    .filter((r) => r[metric] !== null && r[metric] !== undefined)
    .map((r) => `seed ${r.seed}: ${r[metric]} (cell ${r.cell})`)
    .join(' | ');
}

/**
 * Clicking a legend entry highlights its series: the param sits on the layer with tooltips,
 * every coloured layer fades when another entry is picked. `name` must be unique in the chart.
 */
function withHighlight(layers: unknown[], name: string): unknown[] {
  const ls = layers as Array<{ mark: { opacity?: number }; encoding: Record<string, unknown>; params?: unknown[] }>;
  const field = (ls.find((l) => l.encoding.color)?.encoding.color as { field?: string } | undefined)?.field;
  if (!field) return layers;
  let placed = false;
  return ls.map((l) => {
    if (!l.encoding.color) return l;
    const base = l.mark.opacity ?? 1;
    const out = { ...l, encoding: { ...l.encoding, opacity: { condition: { param: name, value: base, empty: true }, value: base * 0.15 } } };
    if (!placed && l.encoding.tooltip) {
      placed = true;
      return { ...out, params: [{ name, select: { type: 'point', fields: [field] }, bind: 'legend' }] };
    }
    return out;
  });
}

/** Mean line + 95% CI band on a numeric axis; bars/points with CI error bars on categories. */
function meanWithCi(panel: Panel, color: Record<string, unknown>, opts: { detail?: string; offset?: { field: string; sort: string[] } } = {}): unknown[] {
  const x = xEncoding(panel);
  // The chart's subtitle names y; a title per panel would be taller than the panel itself.
  const y = { field: 'mean', type: 'quantitative', title: null, scale: { zero: false } };
  const ciY = { field: 'ci95Low', type: 'quantitative', title: null };
  const ciY2 = { field: 'ci95High' };
  const det = opts.detail ? { detail: { field: opts.detail, type: 'nominal' } } : {};
  if (panel.categorical) {
    const by = opts.offset ?? { field: String(color.field), sort: color.sort as string[] };
    const offset = { xOffset: { field: by.field, type: 'nominal', sort: by.sort } };
    return [
      { mark: { type: 'point', filled: true, size: 50, opacity: 1 }, encoding: { x, ...offset, y, color, tooltip: TOOLTIP } },
      { mark: { type: 'rule' }, encoding: { x, ...offset, y: ciY, y2: ciY2, color } },
    ];
  }
  return [
    { mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: ciY, y2: ciY2, color, ...det } },
    // Points in their own layer: a dash legend on the line layer then shows strokes, not dots.
    { mark: { type: 'line' }, encoding: { x, y, color, ...det } },
    { mark: { type: 'point', filled: true, opacity: 1 }, encoding: { x, y, color, ...det, tooltip: TOOLTIP } },
  ];
}

function facetSpec(values: Record<string, unknown>[], rowField: string, rowOrder: string[], datasets: string[], layer: unknown[]): VlSpec {
  return {
    data: { values },
    facet: {
      row: { field: rowField, type: 'nominal', sort: rowOrder, title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } },
      column: { field: 'dataset', type: 'nominal', sort: datasets, title: 'dataset', header: { labelFontWeight: 'bold' } },
    },
    spec: { width: FACET_WIDTH, height: FACET_HEIGHT, layer },
    resolve: { scale: { y: 'independent' } },
  };
}

/** One panel alone, or panels stacked with their own legends (different losses, different x). */
function topLevel(title: unknown, panels: VlSpec[]): VlSpec {
  const head = { $schema: VEGA_LITE_SCHEMA, title, config: CONFIG };
  if (panels.length === 1) return { ...head, ...panels[0] };
  return { ...head, vconcat: panels, resolve: { scale: { color: 'independent' } } };
}

function datasetsOf(exp: ExperimentResults): string[] {
  return distinctStrings(exp.results.map((r) => r.dataset));
}

function legendTitle(panel: Panel, role = 'loss'): string {
  return [role, ...panel.splitBy.map(shortName)].join(' · ');
}

/** Swept columns of the AP estimator: they change what is measured, never the training. */
export function isEstimatorColumn(column: string): boolean {
  return column.startsWith('estimator.');
}

/**
 * The results as far as training goes: estimator columns dropped and the rows they repeated
 * (every estimator of one training has the same retrieval metrics) merged, so metrics are
 * drawn only against parameters that change training.
 */
function trainingOnly(exp: ExperimentResults): ExperimentResults {
  const swept = exp.swept.filter((c) => !isEstimatorColumn(c));
  if (swept.length === exp.swept.length) return exp;
  const seen = new Set<string>();
  const summary = exp.summary.filter((r) => {
    const k = JSON.stringify([r.dataset, r.loss, ...swept.map((c) => r[c] ?? null), r.metric]);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const strip = (r: Row): Row => Object.fromEntries(Object.entries(r).filter(([k]) => !isEstimatorColumn(k)));
  const keepX = exp.manifest?.report?.x !== undefined && !isEstimatorColumn(exp.manifest.report.x);
  const manifest = exp.manifest && !keepX ? { ...exp.manifest, report: {} } : exp.manifest;
  const seenCells = new Set<string>();
  const results = exp.results.map(strip).filter((r) => {
    const k = JSON.stringify([r.dataset, r.loss, r.seed, ...swept.map((c) => r[c] ?? null)]);
    if (seenCells.has(k)) return false;
    seenCells.add(k);
    return true;
  });
  return { ...exp, swept, summary: summary.map(strip), results, manifest };
}

/** Chart 1: every retrieval metric against the ablated parameter, mean ± 95% CI over seeds. */
export function metricsChart(full: ExperimentResults): ChartSpec | null {
  const exp = trainingOnly(full);
  const rows = exp.summary.filter((r) => isRetrievalMetric(String(r.metric)) && typeof r.mean === 'number');
  if (rows.length === 0) return null;
  const metrics = exp.metrics.filter(isRetrievalMetric).filter((m) => rows.some((r) => r.metric === m));
  const labels = metrics.map(metricLabel);
  const datasets = datasetsOf(exp);
  const panels = planPanels(rows, exp.swept, exp.manifest);
  const index = cellIndex(exp);
  const specs = panels.map((panel, i) => {
    const own = rows.filter((r) => usable(r, panel));
    const values = own.map((r) => summaryRecord(r, panel, { metric: metricLabel(String(r.metric)), seeds: seedValues(index, exp.swept, r) }));
    // Beside an AP estimator, the loss is named by its role: it is the one that trained.
    const role = full.swept.some(isEstimatorColumn) ? 'training loss' : 'loss';
    const color = { field: 'series', type: 'nominal', title: legendTitle(panel, role), sort: seriesOrder(own, panel) };
    return facetSpec(values, 'metric', labels, datasets, withHighlight(meanWithCi(panel, color), `pick_metrics_${i}`));
  });
  const xs = distinctStrings(panels.map((p) => p.x)).join(', ');
  const title = `${exp.experiment}: retrieval metrics vs ${xs}`;
  return {
    name: 'metrics',
    title,
    spec: topLevel({ text: title, subtitle: 'y: mean over seeds; band / error bar: 95% confidence interval of the mean' }, specs),
  };
}

const AP_QUANTITY: Record<string, { label: string; row: string }> = {
  apEstimate: { label: 'AP estimate', row: 'AP (estimate and true)' },
  trueAP: { label: 'true AP', row: 'AP (estimate and true)' },
  apGap: { label: 'gap (estimate − true)', row: 'gap (estimate − true)' },
};
const AP_COLORS = { domain: ['AP estimate', 'true AP', 'gap (estimate − true)'], range: ['#e45756', '#4c78a8', '#54a24b'] };

/** The query convention both sides of the comparison use, per loss, from the cell files. */
function conventionNote(cells: CellRecord[], losses: string[]): string {
  const parts: string[] = [];
  for (const loss of losses) {
    const seen = new Set(cells.filter((c) => c.loss === loss && c.includeQuery !== null).map((c) => c.includeQuery));
    if (seen.size === 0) continue;
    const text = seen.size > 1 ? 'mixed query conventions' : seen.has(true) ? "query counted as its own positive (paper's code)" : 'query excluded (standard)';
    parts.push(`${loss}: ${text}`);
  }
  return parts.length ? `estimate and true AP under the same convention — ${parts.join('; ')}` : "estimate and true AP under the loss's own query convention";
}

const ESTIMATOR = 'estimator.name';

/**
 * When the cells name an AP estimator apart from the training loss, the estimate is the
 * estimator's: this chart's series and panels go by it, in the place of the loss.
 */
function byEstimator(exp: ExperimentResults): ExperimentResults {
  if (!exp.swept.includes(ESTIMATOR)) return exp;
  const relabel = (r: Row): Row => (r[ESTIMATOR] != null ? { ...r, loss: r[ESTIMATOR] } : r);
  return {
    ...exp,
    summary: exp.summary.map(relabel),
    results: exp.results.map(relabel),
    cells: exp.cells.map((c) => (c.swept[ESTIMATOR] != null ? { ...c, loss: String(c.swept[ESTIMATOR]) } : c)),
  };
}

/** Chart 2: the surrogate's AP estimate beside the exact AP, and their gap, per dataset. */
export function apEstimateChart(results: ExperimentResults): ChartSpec | null {
  const exp = byEstimator(results);
  const withEstimate = new Set(exp.summary.filter((r) => r.metric === 'apEstimate' && typeof r.mean === 'number').map((r) => String(r.loss)));
  const rows = exp.summary.filter(
    (r) => (AP_ESTIMATE_METRICS as readonly string[]).includes(String(r.metric)) && typeof r.mean === 'number' && withEstimate.has(String(r.loss)),
  );
  if (rows.length === 0) return null;
  const datasets = datasetsOf(exp);
  const panels = planPanels(rows, exp.swept, exp.manifest);
  const rowOrder = distinctStrings(Object.values(AP_QUANTITY).map((q) => q.row)).filter((row) => rows.some((r) => AP_QUANTITY[String(r.metric)]!.row === row));
  const index = cellIndex(exp);
  const role = exp.swept.includes(ESTIMATOR) ? 'estimator' : 'loss';
  const specs = panels.map((panel, i) => {
    const own = rows.filter((r) => usable(r, panel));
    // Other swept settings (e.g. the training stage) get a row of panels each, named by their
    // key path, rather than a dash style per combination.
    const facetBySplit = !panel.categorical && panel.splitBy.length > 0;
    const splitLabel = (r: Row): string => panel.splitBy.map((c) => `${c}=${r[c] ?? '—'}`).join(' · ');
    const values = own.map((r) => {
      const q = AP_QUANTITY[String(r.metric)]!;
      const rec = summaryRecord(r, panel, { quantity: q.label, panelRow: facetBySplit ? splitLabel(r) : q.row, seeds: seedValues(index, exp.swept, r) });
      return { ...rec, key: `${q.label} · ${String(rec.series)}` };
    });
    const order = seriesOrder(own, panel);
    const color = { field: 'quantity', type: 'nominal', title: null, scale: AP_COLORS, sort: AP_COLORS.domain };
    let layer: unknown[];
    if (panel.categorical) {
      const keys = AP_COLORS.domain.flatMap((q) => order.map((s) => `${q} · ${s}`));
      layer = meanWithCi(panel, color, { offset: { field: 'key', sort: keys } });
    } else {
      layer = meanWithCi(panel, color, { detail: 'series' });
      if (!facetBySplit && order.length > 1) {
        const legend = { symbolType: 'stroke', symbolSize: 400, symbolStrokeWidth: 2, symbolStrokeColor: '#555' };
        const dash = { strokeDash: { field: 'series', type: 'nominal', title: role === 'estimator' ? 'estimator' : legendTitle(panel), sort: order, legend } };
        const line = layer[1] as { encoding: Record<string, unknown> };
        line.encoding = { ...line.encoding, ...dash };
      }
    }
    const rowsOf = facetBySplit
      ? distinctStrings([...own].sort((a, b) => panel.splitBy.reduce((d, c) => d || compareValues(a[c] ?? null, b[c] ?? null), 0)).map(splitLabel))
      : rowOrder;
    const spec = facetSpec(values, 'panelRow', rowsOf, datasets, withHighlight(layer, `pick_ap_${i}`));
    return panels.length > 1 || facetBySplit ? { title: `${role}: ${panel.losses.join(', ')}`, ...spec } : spec;
  });
  const losses = distinctStrings(rows.map((r) => r.loss));
  const xs = distinctStrings(panels.map((p) => p.x)).join(', ');
  const title = `${exp.experiment}: estimated vs true AP against ${xs}`;
  return {
    name: 'ap-estimate',
    title,
    spec: topLevel(
      { text: title, subtitle: [conventionNote(exp.cells, losses), 'y: mean over seeds; band / error bar: 95% confidence interval of the mean'] },
      specs,
    ),
  };
}

function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const stride = Math.ceil(points.length / max);
  const out = points.filter((_, i) => i % stride === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]!);
  return out;
}

const IGNORED_SWEPT_KEYS = new Set(['seed', 'dataset', 'loss']);

/** Colour labels for curves: the cell's swept values that differ between cells (not the seed). */
function curveSeries(cells: CellRecord[], lossOrder: string[]): { label: (c: CellRecord) => string; order: string[]; title: string; ordinal: boolean } {
  const losses = distinctStrings([...lossOrder, ...cells.map((c) => c.loss)]).filter((l) => cells.some((c) => c.loss === l));
  const keys = distinctStrings(cells.flatMap((c) => Object.keys(c.swept))).filter(
    (k) => !IGNORED_SWEPT_KEYS.has(k) && !isEstimatorColumn(k) && distinctStrings(cells.map((c) => c.swept[k] ?? null)).length > 1,
  );
  const showLoss = losses.length > 1 || keys.length === 0;
  const label = (c: CellRecord): string => {
    const parts = showLoss ? [c.loss] : [];
    // A parameter the cell's loss does not have (τ of a FastAP cell) is left out, not shown as empty.
    for (const k of keys) if ((c.swept[k] ?? null) !== null) parts.push(`${shortName(k)}=${c.swept[k]}`);
    return parts.join(' · ') || c.loss;
  };
  const sorted = [...cells].sort((a, b) => {
    const byLoss = losses.indexOf(a.loss) - losses.indexOf(b.loss);
    if (byLoss !== 0) return byLoss;
    for (const k of keys) {
      const d = compareValues(a.swept[k] ?? null, b.swept[k] ?? null);
      if (d !== 0) return d;
    }
    return 0;
  });
  const ordinal = !showLoss && keys.length === 1 && cells.every((c) => typeof (c.swept[keys[0]!] ?? 0) === 'number');
  const title = [...(showLoss ? ['loss'] : []), ...keys.map(shortName)].join(' · ');
  return { label, order: distinctStrings(sorted.map(label)), title, ordinal };
}

/** Chart 3: loss and AP estimate per training step, one line per cell, coloured by swept value. */
export function trainingCurvesChart(exp: ExperimentResults): ChartSpec | null {
  // Cells that differ only in the estimator trained identically: one curve for them all.
  const seen = new Set<string>();
  const cells = exp.cells.filter((c) => {
    if (c.curve.length === 0) return false;
    const k = JSON.stringify([
      c.dataset,
      c.loss,
      c.seed,
      ...Object.entries(c.swept)
        .filter(([key]) => !isEstimatorColumn(key))
        .sort(),
    ]);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (cells.length === 0) return null;
  const series = curveSeries(cells, distinctStrings(exp.results.map((r) => r.loss)));
  const values: Record<string, unknown>[] = [];
  for (const cell of cells) {
    for (const p of thin(cell.curve, MAX_CURVE_POINTS)) {
      const base = { dataset: cell.dataset, cell: cell.id, seed: cell.seed, series: series.label(cell), step: p.step };
      if (p.loss !== null) values.push({ ...base, quantity: 'loss', value: p.loss });
      if (p.apEstimate !== null) values.push({ ...base, quantity: 'AP estimate', value: p.apEstimate });
    }
  }
  if (values.length === 0) return null;
  const quantities = ['loss', 'AP estimate'].filter((q) => values.some((v) => v.quantity === q));
  const color = {
    field: 'series',
    type: series.ordinal ? 'ordinal' : 'nominal',
    title: series.title,
    sort: series.order,
    ...(series.ordinal ? { scale: { scheme: 'viridis' } } : {}),
  };
  const unit = {
    mark: { type: 'line', strokeWidth: 1.2, opacity: 0.75 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      color,
      detail: { field: 'cell', type: 'nominal' },
      tooltip: [{ field: 'series' }, { field: 'cell' }, { field: 'seed' }, { field: 'step' }, { field: 'quantity' }, { field: 'value', type: 'quantitative' }],
    },
  };
  const title = `${exp.experiment}: training curves`;
  const spec = facetSpec(values, 'quantity', quantities, datasetsOf(exp), withHighlight([unit], 'pick_curves'));
  return {
    name: 'training-curves',
    title,
    spec: topLevel({ text: title, subtitle: 'per training batch, one line per cell (seeds share a colour)' }, [spec]),
  };
}

/** Every chart the data supports, in page order. */
export function buildChartSpecs(exp: ExperimentResults): ChartSpec[] {
  return [metricsChart(exp), apEstimateChart(exp), trainingCurvesChart(exp)].filter((c): c is ChartSpec => c !== null);
}

/** The names every report may contain (for removing stale files of a chart now skipped). */
export const CHART_NAMES = ['metrics', 'ap-estimate', 'training-curves'];
