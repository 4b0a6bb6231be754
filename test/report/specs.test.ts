import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lossSpecsOf, type LossSpecs } from '../../src/experiments/contract.js';
import { builtinLosses } from '../../src/losses/index.js';
import { planPanels } from '../../src/report/axes.js';
import { readExperimentResults, type ExperimentResults, type Row } from '../../src/report/read-results.js';
import { renderSvg } from '../../src/report/render-svg.js';
import { apEstimateChart, buildChartSpecs, MAX_CURVE_POINTS, metricsChart, trainingCurvesChart } from '../../src/report/specs.js';
import { writeFixture, type FixtureOptions } from './fixture.js';

const root = mkdtempSync(join(tmpdir(), 'rankbench-specs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function load(opts: FixtureOptions = {}, losses?: LossSpecs): { exp: ExperimentResults; fx: ReturnType<typeof writeFixture> } {
  const dir = join(root, `r${counter++}`);
  const fx = writeFixture(dir, opts);
  return { exp: readExperimentResults(fx.experiment, dir, losses), fx };
}

type Layer = { mark: { type: string }; encoding: Record<string, { field?: string; type?: string; scale?: { type?: string }; sort?: unknown }> };
type Facet = {
  data: { values: Record<string, unknown>[] };
  facet: { row: { field: string; sort: string[] }; column: { field: string } };
  spec: { layer: Layer[] };
};

function facetOf(spec: Record<string, unknown>): Facet {
  return spec as unknown as Facet;
}

describe('retrieval-metrics chart', () => {
  const { exp, fx } = load();
  const chart = metricsChart(exp)!;
  const spec = facetOf(chart.spec);

  it('puts τ on a log x axis, a row per metric and a column per dataset', () => {
    for (const layer of spec.spec.layer) {
      expect(layer.encoding.x!.field).toBe('x');
      expect(layer.encoding.x!.type).toBe('quantitative');
      expect(layer.encoding.x!.scale!.type).toBe('log');
    }
    expect(spec.facet.column.field).toBe('dataset');
    expect(spec.facet.row.field).toBe('metric');
    expect(spec.facet.row.sort).toEqual(['mAP', 'MAP@R', 'R-precision', 'P@1', 'Recall@1', 'Recall@2', 'Recall@4', 'Recall@8']);
    const datasets = new Set(spec.data.values.map((v) => v.dataset));
    expect([...datasets]).toEqual(['synthetic', 'mnist']);
  });

  it('draws a CI band from ci95Low to ci95High under a mean line, coloured per loss', () => {
    const [band, line] = spec.spec.layer;
    expect(band!.mark.type).toBe('area');
    expect(band!.encoding.y!.field).toBe('ci95Low');
    expect(band!.encoding.y2!.field).toBe('ci95High');
    expect(line!.mark.type).toBe('line');
    expect(line!.encoding.y!.field).toBe('mean');
    expect(line!.encoding.color!.field).toBe('series');
    expect(line!.encoding.color!.sort).toEqual(['smooth-ap', 'fast-ap']);
  });

  it('plots the mean over seeds and a 95% t interval, recomputed here from the cells', () => {
    // Independent: mean and t-interval over the fixture's per-seed values (t(0.975, 2) = 4.3027).
    const rec = spec.data.values.find((v) => v.dataset === 'mnist' && v.series === 'fast-ap' && v.x === 0.1 && v.metric === 'MAP@R')!;
    const xs = fx.cells.filter((c) => c.dataset === 'mnist' && c.loss === 'fast-ap' && c.sweptValue === 0.1).map((c) => c.metrics.mapAtR!);
    expect(xs).toHaveLength(3);
    const mean = (xs[0]! + xs[1]! + xs[2]!) / 3;
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
    expect(rec.mean as number).toBeCloseTo(mean, 12);
    expect(rec.ci95Low as number).toBeCloseTo(mean - (4.30265273 * sd) / Math.sqrt(3), 8);
    expect(rec.ci95High as number).toBeCloseTo(mean + (4.30265273 * sd) / Math.sqrt(3), 8);
    // 2 datasets × 2 losses × 3 τ × 8 retrieval metrics, nothing else (no trainMs, no AP estimate).
    expect(spec.data.values).toHaveLength(2 * 2 * 3 * 8);
  });

  it('uses a linear axis for a parameter that is not a temperature, unless the manifest asks for log', () => {
    const batch = { column: 'train.batchSize', values: [32, 64, 128] };
    const lin = facetOf(metricsChart(load({ swept: batch }).exp)!.spec);
    expect(lin.spec.layer[0]!.encoding.x!.scale!.type).toBeUndefined();
    const log = facetOf(metricsChart(load({ swept: batch, report: { x: 'train.batchSize', logX: true } }).exp)!.spec);
    expect(log.spec.layer[0]!.encoding.x!.scale!.type).toBe('log');
    const tauLinear = facetOf(metricsChart(load({ report: { x: 'loss.params.tau', logX: false } }).exp)!.spec);
    expect(tauLinear.spec.layer[0]!.encoding.x!.scale!.type).toBeUndefined();
  });

  it('uses points with error bars for a categorical parameter', () => {
    const { exp: cat } = load({ experiment: 'mining', swept: { column: 'loss.params.mining', values: ['semihard', 'hard', 'all'] }, losses: ['triplet'] });
    const s = facetOf(metricsChart(cat)!.spec);
    expect(s.spec.layer.map((l) => l.mark.type)).toEqual(['point', 'rule']);
    expect(s.spec.layer[0]!.encoding.x!.type).toBe('nominal');
    expect(s.spec.layer[0]!.encoding.x!.sort).toEqual(['semihard', 'hard', 'all']);
    expect(s.spec.layer[1]!.encoding.y!.field).toBe('ci95Low');
    expect(s.spec.layer[1]!.encoding.y2!.field).toBe('ci95High');
  });

  it('falls back to the loss on x when nothing but the seed is swept', () => {
    const { exp: none } = load({ experiment: 'compare', swept: null, losses: ['smooth-ap', 'triplet', 'fast-ap'] });
    const s = facetOf(metricsChart(none)!.spec);
    expect(s.spec.layer[0]!.encoding.x!.type).toBe('nominal');
    expect(s.spec.layer[0]!.encoding.x!.sort).toEqual(['smooth-ap', 'triplet', 'fast-ap']);
  });

  it('refuses a manifest report.x that is no column of the results', () => {
    expect(() => metricsChart(load({ report: { x: 'loss.params.bins' } }).exp)).toThrow(
      /report\.x is "loss\.params\.bins".*allowed: loss\.params\.tau, dataset, loss/,
    );
  });
});

describe('estimated vs true AP chart', () => {
  it('plots estimate, true AP and gap against τ on a log axis, per dataset', () => {
    const { exp, fx } = load();
    const s = facetOf(apEstimateChart(exp)!.spec);
    expect(s.facet.column.field).toBe('dataset');
    expect(s.facet.row.sort).toEqual(['AP (estimate and true)', 'gap (estimate − true)']);
    expect(s.spec.layer[1]!.encoding.x!.scale!.type).toBe('log');
    const quantities = new Set(s.data.values.map((v) => v.quantity));
    expect([...quantities].sort()).toEqual(['AP estimate', 'gap (estimate − true)', 'true AP']);
    // The gap the chart shows is the seed-mean of estimate − true, recomputed here.
    const gap = s.data.values.find((v) => v.dataset === 'synthetic' && v.series === 'smooth-ap' && v.x === 0.1 && v.quantity === 'gap (estimate − true)')!;
    const cells = fx.cells.filter((c) => c.dataset === 'synthetic' && c.loss === 'smooth-ap' && c.sweptValue === 0.1);
    const expected = cells.reduce((a, c) => a + (c.metrics.apEstimate! - c.metrics.trueAP!), 0) / cells.length;
    expect(gap.mean as number).toBeCloseTo(expected, 12);
    // Both losses share the τ axis: the two series are told apart by dash.
    expect(s.spec.layer[1]!.encoding.strokeDash!.field).toBe('series');
    expect(exp.cells.length).toBe(36);
    expect(JSON.stringify(apEstimateChart(exp)!.spec)).toMatch(/smooth-ap: query counted as its own positive.*fast-ap: query excluded/);
  });

  it('is skipped when no loss reports an AP estimate (triplet only)', () => {
    const { exp } = load({ experiment: 'triplet', losses: ['triplet'], estimates: () => false });
    expect(apEstimateChart(exp)).toBeNull();
    const names = buildChartSpecs(exp).map((c) => c.name);
    expect(names).toEqual(['metrics', 'training-curves']);
    // The curves have no AP-estimate row either.
    const curves = facetOf(trainingCurvesChart(exp)!.spec);
    expect(curves.facet.row.sort).toEqual(['loss']);
  });

  it('gives Smooth-AP over τ and FastAP over bins separate panels', () => {
    // The ap-estimate experiment sweeps a different parameter per loss; the other is empty.
    const rows: Row[] = [];
    for (const ds of ['synthetic', 'mnist']) {
      for (const tau of [0.001, 0.01, 0.1])
        for (const metric of ['apEstimate', 'trueAP', 'apGap'])
          rows.push({
            experiment: 'ap',
            dataset: ds,
            loss: 'smooth-ap',
            'loss.params.tau': tau,
            'loss.params.bins': null,
            metric,
            mean: 0.5,
            std: 0,
            n: 3,
            ci95Low: 0.5,
            ci95High: 0.5,
          });
      for (const bins of [10, 20, 40])
        for (const metric of ['apEstimate', 'trueAP', 'apGap'])
          rows.push({
            experiment: 'ap',
            dataset: ds,
            loss: 'fast-ap',
            'loss.params.tau': null,
            'loss.params.bins': bins,
            metric,
            mean: 0.5,
            std: 0,
            n: 3,
            ci95Low: 0.5,
            ci95High: 0.5,
          });
    }
    const swept = ['loss.params.tau', 'loss.params.bins'];
    const panels = planPanels(rows, swept, null);
    expect(panels.map((p) => [p.x, p.logX, p.losses])).toEqual([
      ['loss.params.tau', true, ['smooth-ap']],
      ['loss.params.bins', false, ['fast-ap']],
    ]);
    expect(panels[1]!.domain).toEqual([10, 20, 40]);
    const exp: ExperimentResults = {
      experiment: 'ap',
      dir: '',
      results: rows.map((r) => ({ ...r, cell: 'c', seed: 1 })),
      summary: rows,
      swept,
      metrics: ['apEstimate', 'trueAP', 'apGap'],
      manifest: null,
      cells: [],
    };
    const spec = apEstimateChart(exp)!.spec as { vconcat: Facet[] };
    expect(spec.vconcat).toHaveLength(2);
    expect(spec.vconcat[0]!.data.values.every((v) => v.series === 'smooth-ap')).toBe(true);
    expect(spec.vconcat[1]!.data.values.map((v) => v.x).sort()).toEqual([10, 10, 10, 10, 10, 10, 20, 20, 20, 20, 20, 20, 40, 40, 40, 40, 40, 40]);
  });
});

describe('an estimator apart from the training loss (the ap-estimate experiment)', () => {
  // Every cell trains with smooth-ap; the AP estimate comes from estimator.name with its own params,
  // at several training stages (train.iterations), which split the series.
  const swept = ['train.iterations', 'estimator.name', 'estimator.params.tau', 'estimator.params.bins'];
  const rows: Row[] = [];
  for (const it of [0, 100]) {
    for (const tau of [0.01, 0.1])
      for (const metric of ['apEstimate', 'trueAP', 'apGap'])
        rows.push({
          experiment: 'ap',
          dataset: 'synthetic',
          loss: 'smooth-ap',
          'train.iterations': it,
          'estimator.name': 'smooth-ap',
          'estimator.params.tau': tau,
          'estimator.params.bins': null,
          metric,
          mean: 0.5,
          std: 0,
          n: 1,
          ci95Low: null,
          ci95High: null,
        });
    for (const bins of [5, 40])
      for (const metric of ['apEstimate', 'trueAP', 'apGap'])
        rows.push({
          experiment: 'ap',
          dataset: 'synthetic',
          loss: 'smooth-ap',
          'train.iterations': it,
          'estimator.name': 'fast-ap',
          'estimator.params.tau': null,
          'estimator.params.bins': bins,
          metric,
          mean: 0.5,
          std: 0,
          n: 1,
          ci95Low: null,
          ci95High: null,
        });
  }
  const manifest = { report: { x: 'estimator.params.tau', logX: true } };

  it('puts a loss without report.x on its own parameter of the same plugin, not on the stage', () => {
    const relabelled = rows.map((r) => ({ ...r, loss: r['estimator.name'] }));
    const panels = planPanels(relabelled, swept, manifest);
    expect(panels.map((p) => [p.x, p.logX, p.losses, p.domain])).toEqual([
      ['estimator.params.tau', true, ['smooth-ap'], [0.01, 0.1]],
      ['estimator.params.bins', false, ['fast-ap'], [5, 40]],
    ]);
    expect(panels[1]!.splitBy).toContain('train.iterations');
  });

  it('draws the AP chart per estimator, although every row trained with smooth-ap', () => {
    const exp: ExperimentResults = {
      experiment: 'ap',
      dir: '',
      results: rows.map((r) => ({ ...r, cell: 'c', seed: 0 })),
      summary: rows,
      swept,
      metrics: ['apEstimate', 'trueAP', 'apGap'],
      manifest,
      cells: [],
    };
    const spec = apEstimateChart(exp)!.spec as { vconcat: Facet[] };
    expect(spec.vconcat).toHaveLength(2);
    expect(spec.vconcat[1]!.data.values.map((v) => v.x).sort((a, b) => Number(a) - Number(b))).toEqual([...Array(6).fill(5), ...Array(6).fill(40)]);
  });
});

describe('a baseline loss beside the ablation (the ci experiment: τ for Smooth-AP only)', () => {
  const rows: Row[] = [];
  const add = (loss: string, tau: number | null): void => {
    for (const metric of ['map', 'apEstimate', 'trueAP', 'apGap'])
      rows.push({ experiment: 'ci', dataset: 'synthetic', loss, 'loss.params.tau': tau, metric, mean: 0.3, std: null, n: 1, ci95Low: null, ci95High: null });
  };
  add('smooth-ap', 0.1);
  add('smooth-ap', 0.01);
  add('fast-ap', null);
  add('triplet', null);
  const manifest = { report: { x: 'loss.params.tau', logX: true } };

  it('keeps report.x for the losses that have it and puts the others on a loss axis', () => {
    const panels = planPanels(rows, ['loss.params.tau'], manifest);
    expect(panels.map((p) => [p.x, p.logX, p.categorical, p.losses, p.domain])).toEqual([
      ['loss.params.tau', true, false, ['smooth-ap'], [0.01, 0.1]],
      ['loss', false, true, ['fast-ap', 'triplet'], ['fast-ap', 'triplet']],
    ]);
  });

  it('labels curves without the parameter a loss does not have, in the results order', () => {
    const cell = (id: string, loss: string, tau: number | null): ExperimentResults['cells'][number] => ({
      id,
      dataset: 'synthetic',
      loss,
      seed: 0,
      swept: { 'loss.params.tau': tau },
      includeQuery: null,
      curve: [
        { step: 1, loss: 0.5, apEstimate: null },
        { step: 2, loss: 0.4, apEstimate: null },
      ],
    });
    const exp: ExperimentResults = {
      experiment: 'ci',
      dir: '',
      summary: rows,
      swept: ['loss.params.tau'],
      metrics: ['map'],
      manifest,
      results: [
        ['a', 'smooth-ap', 0.1],
        ['b', 'smooth-ap', 0.01],
        ['c', 'fast-ap', null],
        ['d', 'triplet', null],
      ].map(([cell, loss, tau]) => ({ experiment: 'ci', cell, dataset: 'synthetic', loss, 'loss.params.tau': tau, seed: 0 })),
      // Cell files come in id-hash order, not the experiment's.
      cells: [cell('d', 'triplet', null), cell('c', 'fast-ap', null), cell('a', 'smooth-ap', 0.1), cell('b', 'smooth-ap', 0.01)],
    };
    const s = facetOf(trainingCurvesChart(exp)!.spec);
    const color = (s.spec.layer[0] as Layer).encoding.color!;
    expect(color.sort).toEqual(['smooth-ap · tau=0.01', 'smooth-ap · tau=0.1', 'fast-ap', 'triplet']);
    expect(color.type).toBe('nominal');
  });
});

describe('training-curves chart', () => {
  it('has one line per cell, coloured by the swept value, thinned to a bounded size', () => {
    const { exp, fx } = load({ losses: ['smooth-ap'], curveSteps: 500 });
    const s = facetOf(trainingCurvesChart(exp)!.spec);
    const enc = (s.spec.layer[0] as Layer).encoding;
    expect(enc.detail!.field).toBe('cell');
    expect(enc.color!.field).toBe('series');
    expect(enc.color!.type).toBe('ordinal');
    expect(enc.color!.sort).toEqual(['tau=0.001', 'tau=0.01', 'tau=0.1']);
    expect(s.facet.row.sort).toEqual(['loss', 'AP estimate']);
    const perCell = new Map<unknown, number[]>();
    for (const v of s.data.values) if (v.quantity === 'loss') perCell.set(v.cell, [...(perCell.get(v.cell) ?? []), v.step as number]);
    expect(perCell.size).toBe(fx.cells.length);
    for (const steps of perCell.values()) {
      expect(steps.length).toBeLessThanOrEqual(MAX_CURVE_POINTS + 1);
      expect(steps.length).toBeGreaterThan(MAX_CURVE_POINTS / 2);
      expect(steps[0]).toBe(0);
      expect(steps[steps.length - 1]).toBe(499);
    }
  });

  it('is skipped when no cell file holds a curve', () => {
    expect(trainingCurvesChart(load({ curves: false }).exp)).toBeNull();
  });
});

describe('static SVG', () => {
  it('renders every chart without a Vega-Lite or Vega warning, with data marks, names escaped', async () => {
    // The evil loss as a loaded --plugin loss with Smooth-AP's parameters, so that τ stays a number axis.
    const evil = lossSpecsOf([...builtinLosses, { name: '<script>alert(1)</script>', params: builtinLosses.find((l) => l.name === 'smooth-ap')!.params }]);
    const { exp } = load({ experiment: 'evil', losses: ['smooth-ap', '<script>alert(1)</script>'], datasets: ['syn & "thetic"'] }, evil);
    const charts = buildChartSpecs(exp);
    expect(charts.map((c) => c.name)).toEqual(['metrics', 'ap-estimate', 'training-curves']);
    for (const chart of charts) {
      const { svg, warnings } = await renderSvg(chart.spec);
      expect(warnings).toEqual([]);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).not.toMatch(/<script/i);
      expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(svg.match(/<g class="mark-line role-mark/g)?.length ?? 0).toBeGreaterThan(0);
    }
  });
});
