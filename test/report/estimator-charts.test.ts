/**
 * An experiment that sweeps an AP estimator beside the training (ap-estimate): metrics only
 * against what changes training, one training curve per training, the AP chart faceted by stage.
 */
import { describe, expect, it } from 'vitest';
import type { CellRecord, ExperimentResults, Row } from '../../src/report/read-results.js';
import { renderSvg } from '../../src/report/render-svg.js';
import { apEstimateChart, metricsChart, trainingCurvesChart } from '../../src/report/specs.js';

const swept = ['train.iterations', 'estimator.name', 'estimator.params.tau', 'estimator.params.bins'];
const estimators: Array<[string, number | null, number | null]> = [
  ['smooth-ap', 0.1, null],
  ['smooth-ap', 0.01, null],
  ['fast-ap', null, 5],
  ['fast-ap', null, 10],
];
const stages = [0, 100];
const seeds = [0, 1];

function build(): ExperimentResults {
  const results: Row[] = [];
  const summary: Row[] = [];
  const cells: CellRecord[] = [];
  for (const it of stages) {
    for (const [name, tau, bins] of estimators) {
      const key = { 'train.iterations': it, 'estimator.name': name, 'estimator.params.tau': tau, 'estimator.params.bins': bins };
      for (const seed of seeds) {
        const id = `${it}-${name}-${tau ?? bins}-${seed}`;
        // The same training gives the same mAP whatever the estimator.
        results.push({
          experiment: 'ap',
          cell: id,
          dataset: 'synthetic',
          loss: 'smooth-ap',
          ...key,
          seed,
          map: 0.1 + it / 1000 + seed / 100,
          apEstimate: 0.5,
          trueAP: 0.6,
          apGap: -0.1,
        });
        cells.push({
          id,
          dataset: 'synthetic',
          loss: 'smooth-ap',
          seed,
          swept: key,
          includeQuery: true,
          curve: [
            { step: 1, loss: 0.9, apEstimate: 0.2 },
            { step: 2, loss: 0.8, apEstimate: 0.3 },
          ],
          exampleBatch: null,
        });
      }
      for (const metric of ['map', 'apEstimate', 'trueAP', 'apGap']) {
        const mean = metric === 'map' ? 0.1 + it / 1000 + 0.005 : 0.5;
        summary.push({
          experiment: 'ap',
          dataset: 'synthetic',
          loss: 'smooth-ap',
          ...key,
          metric,
          mean,
          std: 0.01,
          n: 2,
          ci95Low: mean - 0.1,
          ci95High: mean + 0.1,
        });
      }
    }
  }
  return {
    experiment: 'ap',
    dir: '',
    results,
    summary,
    swept,
    metrics: ['map', 'apEstimate', 'trueAP', 'apGap'],
    manifest: { report: { x: 'estimator.params.tau', logX: true } },
    cells,
  };
}

type Facet = {
  data: { values: Record<string, unknown>[] };
  facet: { row: { sort: string[] } };
  spec: { layer: Array<{ encoding: Record<string, { field?: string; title?: unknown }> }> };
  title?: string;
};

describe('charts beside an AP estimator', () => {
  const exp = build();

  it('draws retrieval metrics against the training stage only, once per training, the loss named as the training loss', () => {
    const spec = metricsChart(exp)!.spec as unknown as Facet;
    const values = spec.data.values;
    expect(values.map((v) => v.x)).toEqual(stages);
    expect(values.every((v) => v.series === 'smooth-ap')).toBe(true);
    expect(spec.spec.layer[1]!.encoding.color!.title).toBe('training loss');
    expect(metricsChart(exp)!.title).toBe('ap: retrieval metrics vs train.iterations');
  });

  it('draws one training curve per training, not one per estimator', () => {
    const spec = trainingCurvesChart(exp)!.spec as unknown as Facet;
    const curves = new Set(spec.data.values.map((v) => v.cell));
    expect(curves.size).toBe(stages.length * seeds.length);
    expect(new Set(spec.data.values.map((v) => v.series))).toEqual(new Set(['iterations=0', 'iterations=100']));
  });

  it('facets the AP chart by stage, per estimator family, with no dash styles', async () => {
    const chart = apEstimateChart(exp)!;
    const panels = (chart.spec as { vconcat: Facet[] }).vconcat;
    expect(panels.map((p) => p.title)).toEqual(['estimator: smooth-ap', 'estimator: fast-ap']);
    for (const p of panels) {
      expect(p.facet.row.sort).toEqual(['train.iterations=0', 'train.iterations=100']);
      for (const l of p.spec.layer) expect(l.encoding.strokeDash).toBeUndefined();
    }
    const { warnings } = await renderSvg(chart.spec);
    expect(warnings).toEqual([]);
  });
});
