/**
 * One chart per claim, the chart that answers it: for A-vs-B claims every paired difference
 * (one dot per pair, with its cells and seed) beside the mean and its 95% interval, against
 * zero; for a trend the metric against the parameter, one line per block of paired cells.
 */
import type { ClaimResult } from '../claims/evaluate.js';
import { formatP } from '../claims/output.js';
import type { ClaimSpec } from '../claims/types.js';
import { shortName, wantsLog } from './axes.js';
import type { Manifest } from './read-results.js';
import { VEGA_LITE_SCHEMA, type ChartSpec, type VlSpec } from './specs.js';

const CONFIG = { legend: { labelLimit: 400, titleLimit: 400, symbolOpacity: 1 }, title: { anchor: 'start' } };

/** Chart name of the i-th claim (0-based) in reports/<experiment>/. */
export function claimChartName(index: number): string {
  return `claim-${index + 1}`;
}

/** Matches every claim chart's file stem, so that stale ones can be removed. */
export const CLAIM_CHART = /^claim-\d+$/;

function verdictSubtitle(results: readonly ClaimResult[]): string {
  return results.map((r) => `${r.dataset}: ${r.verdict}`).join(' · ');
}

/** Clicking a legend entry highlights its series (the others fade), clicking again clears it. */
function highlight(name: string, field: string): { param: unknown; opacity: (on: number) => unknown } {
  return {
    param: { name, select: { type: 'point', fields: [field] }, bind: 'legend' },
    opacity: (on: number) => ({ condition: { param: name, value: on, empty: true }, value: 0.12 }),
  };
}

function pairChart(claim: ClaimSpec, results: readonly ClaimResult[], name: string): VlSpec {
  const datasets = results.map((r) => r.dataset);
  const multiMetric = new Set(results.flatMap((r) => r.comparisons.map((c) => c.metric))).size > 1;
  const label = (c: ClaimResult['comparisons'][number]): string => (multiMetric ? `${c.label} · ${c.metric}` : c.label);
  const values: Record<string, unknown>[] = [];
  for (const r of results) {
    for (const c of r.comparisons) {
      const comparison = label(c);
      values.push({
        layer: 'summary',
        dataset: r.dataset,
        comparison,
        mean: c.effect,
        ciLow: Number.isFinite(c.ciLow) ? c.ciLow : c.effect,
        ciHigh: Number.isFinite(c.ciHigh) ? c.ciHigh : c.effect,
        p: formatP(c.p),
        pAdjusted: formatP(c.pAdjusted),
        pairs: c.nPairs,
        verdict: r.verdict,
      });
      for (const p of c.pairs)
        values.push({ layer: 'pair', dataset: r.dataset, comparison, difference: p.a - p.b, a: p.a, b: p.b, seed: p.seed, cellA: p.aCell, cellB: p.bCell });
    }
  }
  const order = [...new Set(values.map((v) => String(v.comparison)))];
  const y = { field: 'comparison', type: 'nominal', sort: order, title: null, axis: { labelLimit: 300 } };
  const hl = highlight(`pick_${name.replace(/\W/g, '_')}`, 'comparison');
  const layer = [
    { mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
    {
      transform: [{ filter: "datum.layer === 'summary'" }],
      mark: { type: 'rule', strokeWidth: 2 },
      encoding: {
        x: { field: 'ciLow', type: 'quantitative', title: 'paired difference A − B (per pair; mean with 95% CI)' },
        x2: { field: 'ciHigh' },
        y,
        color: { field: 'comparison', type: 'nominal', sort: order, title: 'comparison (click to highlight)' },
        opacity: hl.opacity(1),
      },
    },
    {
      transform: [{ filter: "datum.layer === 'summary'" }],
      mark: { type: 'tick', thickness: 3, size: 18 },
      encoding: {
        x: { field: 'mean', type: 'quantitative' },
        y,
        color: { field: 'comparison', type: 'nominal', sort: order, title: 'comparison (click to highlight)' },
        opacity: hl.opacity(1),
        tooltip: [
          { field: 'comparison' },
          { field: 'dataset' },
          { field: 'mean', type: 'quantitative', title: 'mean difference', format: '.6f' },
          { field: 'ciLow', type: 'quantitative', title: 'CI95 low', format: '.6f' },
          { field: 'ciHigh', type: 'quantitative', title: 'CI95 high', format: '.6f' },
          { field: 'p', title: 'p' },
          { field: 'pAdjusted', title: 'p (Holm)' },
          { field: 'pairs', title: 'pairs' },
          { field: 'verdict', title: 'claim verdict' },
        ],
      },
    },
    {
      transform: [{ filter: "datum.layer === 'pair'" }],
      params: [hl.param],
      mark: { type: 'point', filled: false, size: 60 },
      encoding: {
        x: { field: 'difference', type: 'quantitative' },
        y,
        color: { field: 'comparison', type: 'nominal', sort: order, title: 'comparison (click to highlight)' },
        opacity: hl.opacity(0.9),
        tooltip: [
          { field: 'comparison' },
          { field: 'seed' },
          { field: 'cellA', title: 'cell A' },
          { field: 'a', type: 'quantitative', title: 'A', format: '.6f' },
          { field: 'cellB', title: 'cell B' },
          { field: 'b', type: 'quantitative', title: 'B', format: '.6f' },
          { field: 'difference', type: 'quantitative', title: 'A − B', format: '.6f' },
        ],
      },
    },
  ];
  return {
    data: { values },
    facet: { column: { field: 'dataset', type: 'nominal', sort: datasets, title: 'dataset', header: { labelFontWeight: 'bold' } } },
    spec: { width: 320, height: { step: 26 }, layer },
    resolve: { scale: { x: 'independent' } },
  };
}

function trendChart(claim: ClaimSpec & { kind: 'trend' }, results: readonly ClaimResult[], name: string, manifest: Pick<Manifest, 'report'> | null): VlSpec {
  const datasets = results.map((r) => r.dataset);
  const values: Record<string, unknown>[] = [];
  const hasLabel = results.some((r) => r.comparisons[0]!.blocks.some((b) => b.label !== ''));
  for (const r of results) {
    for (const b of r.comparisons[0]!.blocks) {
      const group = hasLabel ? b.label : `seed ${b.seed}`;
      for (const p of b.points)
        values.push({ dataset: r.dataset, group, block: `${group} · seed ${b.seed}`, seed: b.seed, cell: p.cell, x: p.x, y: p.y, rho: b.rho });
    }
  }
  const xs = values.map((v) => v.x as number);
  const log = wantsLog(claim.param, manifest) && xs.every((x) => x > 0);
  const groups = [...new Set(values.map((v) => String(v.group)))];
  const hl = highlight(`pick_${name.replace(/\W/g, '_')}`, 'group');
  const x = {
    field: 'x',
    type: 'quantitative',
    title: log ? `${claim.param} (log scale)` : claim.param,
    scale: log ? { type: 'log' } : { zero: false },
    axis: { values: [...new Set(xs)].sort((a, b) => a - b), labelOverlap: 'greedy' },
  };
  const y = { field: 'y', type: 'quantitative', title: claim.metric.text, scale: { zero: false } };
  const color = { field: 'group', type: 'nominal', sort: groups, title: `${hasLabel ? 'block' : 'seed'} (click to highlight)` };
  const layer = [
    { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color, detail: { field: 'block', type: 'nominal' }, opacity: hl.opacity(0.85) } },
    {
      params: [hl.param],
      mark: { type: 'point', filled: true, size: 40 },
      encoding: {
        x,
        y,
        color,
        opacity: hl.opacity(1),
        tooltip: [
          { field: 'cell' },
          { field: 'seed' },
          { field: 'group', title: 'block' },
          { field: 'x', type: 'quantitative', title: shortName(claim.param) },
          { field: 'y', type: 'quantitative', title: claim.metric.text, format: '.6f' },
          { field: 'rho', type: 'quantitative', title: 'block Spearman ρ', format: '.3f' },
        ],
      },
    },
  ];
  return {
    data: { values },
    facet: { column: { field: 'dataset', type: 'nominal', sort: datasets, title: 'dataset', header: { labelFontWeight: 'bold' } } },
    spec: { width: 300, height: 200, layer },
    resolve: { scale: { y: 'independent' } },
  };
}

/** The claims' charts, in claim order; a claim no dataset answered has none. */
export function claimCharts(
  claims: readonly ClaimSpec[],
  results: readonly ClaimResult[],
  manifest: Pick<Manifest, 'report'> | null,
): Array<ChartSpec & { claim: number }> {
  const out: Array<ChartSpec & { claim: number }> = [];
  claims.forEach((claim, i) => {
    const mine = results.filter((r) => r.claim.text === claim.text);
    if (mine.length === 0) return;
    const name = claimChartName(i);
    const body = claim.kind === 'trend' ? trendChart(claim, mine, name, manifest) : pairChart(claim, mine, name);
    const subtitle =
      claim.kind === 'trend'
        ? `${claim.metric.text} against ${claim.param}; one line per block of paired cells — ${verdictSubtitle(mine)}`
        : `A − B per pair of cells (dots) and mean with 95% CI; ${claim.goal === 'lower' ? 'left' : 'right'} of 0 favours A — ${verdictSubtitle(mine)}`;
    out.push({ name, claim: i, title: claim.text, spec: { $schema: VEGA_LITE_SCHEMA, title: { text: claim.text, subtitle }, config: CONFIG, ...body } });
  });
  return out;
}
