import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { resultsTable, summaryTable, toCsv } from '../../src/experiments/tables.js';
import type { CellResult, ResolvedExperiment } from '../../src/experiments/types.js';
import type { RetrievalMetrics } from '../../src/metrics/types.js';

const exp = { name: 'demo', swept: ['loss.params.tau', 'train.batchSize'] } as unknown as ResolvedExperiment;

function metrics(base: number, ks: number[]): RetrievalMetrics {
  return {
    map: base,
    mapAtR: base / 2,
    rPrecision: base / 3,
    precisionAt1: base + 0.1,
    recallAt: Object.fromEntries(ks.map((k) => [String(k), Math.min(1, base + k / 100)])),
    queries: 40,
  };
}

function cell(id: string, loss: string, tau: number | null, seed: number, map: number, est: [number, number] | null): CellResult {
  const ks = [1, 2, 10];
  return {
    id,
    experiment: 'demo',
    config: {
      dataset: { name: 'synthetic', params: {} },
      train: { batchSize: 8 } as never,
      loss: { name: loss, params: tau === null ? {} : { tau } },
      eval: { k: ks, estimateBatches: 2 },
      seed,
    },
    swept: { 'loss.params.tau': tau, 'train.batchSize': 8 },
    dataset: 'synthetic',
    loss,
    seed,
    metrics: metrics(map, ks),
    untrained: metrics(map / 4, ks),
    apEstimate: est ? { estimate: est[0], trueAP: est[1], gap: est[0] - est[1], includeQuery: true } : null,
    curve: [],
    trainMs: 1234.5,
    startedAt: '',
    finishedAt: '',
  };
}

// Values with long binary expansions, to prove the text keeps every bit.
const cells = [
  cell('aaaaaaaaaaa1', 'smooth-ap', 0.01, 0, 0.1 + 0.2, [0.7123456789012345, 0.65]),
  cell('aaaaaaaaaaa2', 'smooth-ap', 0.01, 1, 1 / 3, [0.7, 0.6]),
  cell('aaaaaaaaaaa3', 'smooth-ap', 0.01, 2, 0.41, [0.72, 0.61]),
  cell('bbbbbbbbbbb1', 'triplet', null, 0, 0.5, null),
];

describe('results.csv', () => {
  const parsed = parse(toCsv(resultsTable(exp, cells)), { columns: true }) as Record<string, string>[];
  const header = Object.keys(parsed[0]!);

  it('has the pinned columns in order', () => {
    expect(header).toEqual([
      'experiment',
      'cell',
      'dataset',
      'loss',
      'loss.params.tau',
      'train.batchSize',
      'seed',
      'protocol',
      'similarity',
      'averaging',
      'map',
      'mapAtR',
      'rPrecision',
      'precisionAt1',
      'recallAt1',
      'recallAt2',
      'recallAt10',
      'untrainedMap',
      'inputMap',
      'inputMapAtR',
      'inputRecallAt1',
      'apEstimate',
      'trueAP',
      'apGap',
      'trainMs',
    ]);
  });

  it('round-trips every value exactly through a CSV parser', () => {
    expect(parsed).toHaveLength(4);
    parsed.forEach((row, i) => {
      const c = cells[i]!;
      expect(row.cell).toBe(c.id);
      expect(row.loss).toBe(c.loss);
      expect(Number(row.seed)).toBe(c.seed);
      expect(Number(row.map)).toBe(c.metrics.map);
      expect(Number(row.mapAtR)).toBe(c.metrics.mapAtR);
      expect(Number(row.recallAt10)).toBe(c.metrics.recallAt['10']);
      expect(Number(row.untrainedMap)).toBe(c.untrained.map);
      expect(Number(row.trainMs)).toBe(1234.5);
    });
    expect(Number(parsed[0]!.apEstimate)).toBe(0.7123456789012345);
    expect(Number(parsed[0]!.apGap)).toBe(0.7123456789012345 - 0.65);
    expect(parsed[0]!['loss.params.tau']).toBe('0.01');
    // Not an AP surrogate, no tau: empty, never 0.
    expect(parsed[3]!.apEstimate).toBe('');
    expect(parsed[3]!.trueAP).toBe('');
    expect(parsed[3]!['loss.params.tau']).toBe('');
  });
});

describe('summary.csv', () => {
  const parsed = parse(toCsv(summaryTable(exp, cells)), { columns: true }) as Record<string, string>[];

  it('has the pinned columns', () => {
    expect(Object.keys(parsed[0]!)).toEqual([
      'experiment',
      'dataset',
      'loss',
      'loss.params.tau',
      'train.batchSize',
      'metric',
      'mean',
      'std',
      'n',
      'ci95Low',
      'ci95High',
    ]);
  });

  it('groups over seeds with mean, sample std, n and a t-based CI', () => {
    const row = parsed.find((r) => r.loss === 'smooth-ap' && r.metric === 'map')!;
    const xs = [0.1 + 0.2, 1 / 3, 0.41];
    const mean = (xs[0]! + xs[1]! + xs[2]!) / 3;
    const std = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
    expect(Number(row.n)).toBe(3);
    expect(Number(row.mean)).toBeCloseTo(mean, 14);
    expect(Number(row.std)).toBeCloseTo(std, 14);
    expect(Number(row.ci95High) - Number(row.mean)).toBeCloseTo((4.3027 * std) / Math.sqrt(3), 12);
    const gap = parsed.find((r) => r.loss === 'smooth-ap' && r.metric === 'apGap')!;
    expect(Number(gap.mean)).toBeCloseTo((0.7123456789012345 - 0.65 + 0.1 + 0.11) / 3, 12);
  });

  it('a group of one seed has n = 1 and no spread; metrics a loss lacks have no row', () => {
    const t = parsed.filter((r) => r.loss === 'triplet');
    expect(t.map((r) => r.metric)).not.toContain('apEstimate');
    const map = t.find((r) => r.metric === 'map')!;
    expect([map.n, map.mean, map.std, map.ci95Low]).toEqual(['1', '0.5', '', '']);
  });
});
