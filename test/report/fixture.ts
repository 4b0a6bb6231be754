/**
 * Writes realistic results/<experiment>/ folders (results.csv, summary.csv, manifest.json,
 * cells/*.json in the formats the runner writes) so the report tests never depend on the runner.
 * Numbers follow plausible trends (τ near 0.01 best, estimate gap growing with τ) plus seeded noise.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';

export interface FixtureOptions {
  experiment?: string;
  datasets?: string[];
  losses?: string[];
  /** Swept column (key path) and its values; null = nothing swept but the seed. */
  swept?: { column: string; values: (number | string)[] } | null;
  seeds?: number[];
  recallKs?: number[];
  /** Which losses report an AP estimate (default: every loss). */
  estimates?: (loss: string) => boolean;
  curves?: boolean;
  curveSteps?: number;
  report?: { x?: string; logX?: boolean };
  command?: unknown;
}

export interface FixtureCell {
  id: string;
  dataset: string;
  loss: string;
  sweptValue: number | string | null;
  seed: number;
  metrics: Record<string, number | null>;
}

export interface Fixture {
  dir: string;
  experiment: string;
  sweptColumn: string | null;
  metricColumns: string[];
  cells: FixtureCell[];
}

/** t quantile 0.975 for df = 1..10 (tables); the fixture's CI is mean ± t·s/√n. */
const T975 = [NaN, 12.706204736, 4.30265273, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135, 2.262157163, 2.228138852];

/** Small deterministic generator (mulberry32), independent of the project's Rng. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clamp01 = (v: number): number => Math.min(0.999, Math.max(0.001, v));

export function writeFixture(resultsDir: string, opts: FixtureOptions = {}): Fixture {
  const experiment = opts.experiment ?? 'ablation-tau';
  const datasets = opts.datasets ?? ['synthetic', 'mnist'];
  const losses = opts.losses ?? ['smooth-ap', 'fast-ap'];
  const swept = opts.swept === undefined ? { column: 'loss.params.tau', values: [0.001, 0.01, 0.1] } : opts.swept;
  const seeds = opts.seeds ?? [1, 2, 3];
  const ks = opts.recallKs ?? [1, 2, 4, 8];
  const estimates = opts.estimates ?? (() => true);
  const steps = opts.curveSteps ?? 30;
  const dir = join(resultsDir, experiment);
  mkdirSync(join(dir, 'cells'), { recursive: true });
  const rand = generator(12345);
  const noise = (s: number): number => (rand() - 0.5) * 2 * s;

  const metricColumns = [
    'map',
    'mapAtR',
    'rPrecision',
    'precisionAt1',
    ...ks.map((k) => `recallAt${k}`),
    'untrainedMap',
    'apEstimate',
    'trueAP',
    'apGap',
    'trainMs',
  ];
  const sweptValues: (number | string | null)[] = swept ? swept.values : [null];
  const cells: FixtureCell[] = [];
  datasets.forEach((dataset, di) => {
    losses.forEach((loss, li) => {
      sweptValues.forEach((value, vi) => {
        for (const seed of seeds) {
          const tauPenalty = typeof value === 'number' ? 0.06 * Math.abs(Math.log10(value / 0.01)) : 0.02 * vi;
          const map = clamp01(0.55 + 0.12 * di + 0.03 * li - tauPenalty + noise(0.015));
          const p1 = clamp01(map + 0.18 + noise(0.01));
          const m: Record<string, number | null> = {
            map,
            mapAtR: clamp01(map * 0.8 + noise(0.01)),
            rPrecision: clamp01(map * 0.9 + noise(0.01)),
            precisionAt1: p1,
          };
          for (const k of ks) m[`recallAt${k}`] = clamp01(1 - (1 - p1) ** Math.sqrt(k));
          m.untrainedMap = clamp01(0.12 + 0.05 * di + noise(0.005));
          if (estimates(loss)) {
            const trueAP = clamp01(0.6 + 0.1 * di + noise(0.02));
            const gap = typeof value === 'number' ? 0.25 * Math.sqrt(value) + noise(0.003) : 0.05 + noise(0.003);
            m.apEstimate = trueAP + gap;
            m.trueAP = trueAP;
            m.apGap = m.apEstimate - trueAP;
          } else {
            m.apEstimate = m.trueAP = m.apGap = null;
          }
          m.trainMs = Math.round(1500 + 400 * rand());
          const config = { dataset, loss, sweptColumn: swept?.column ?? null, value, seed };
          const id = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 12);
          cells.push({ id, dataset, loss, sweptValue: value, seed, metrics: m });
        }
      });
    });
  });

  // results.csv, pinned column order.
  const header = ['experiment', 'cell', 'dataset', 'loss', ...(swept ? [swept.column] : []), 'seed', ...metricColumns];
  const resultRows = cells.map((c) => [
    experiment,
    c.id,
    c.dataset,
    c.loss,
    ...(swept ? [c.sweptValue] : []),
    c.seed,
    ...metricColumns.map((col) => (c.metrics[col] === null ? '' : c.metrics[col])),
  ]);
  writeFileSync(join(dir, 'results.csv'), stringify([header, ...resultRows]));

  // summary.csv: tidy, one row per (dataset, loss, swept value) × metric.
  const sHeader = ['experiment', 'dataset', 'loss', ...(swept ? [swept.column] : []), 'metric', 'mean', 'std', 'n', 'ci95Low', 'ci95High'];
  const sRows: unknown[][] = [];
  for (const dataset of datasets) {
    for (const loss of losses) {
      for (const value of sweptValues) {
        const group = cells.filter((c) => c.dataset === dataset && c.loss === loss && c.sweptValue === value);
        for (const metric of metricColumns) {
          const xs = group.map((c) => c.metrics[metric]).filter((v): v is number => v !== null);
          const key = [experiment, dataset, loss, ...(swept ? [value] : []), metric];
          if (xs.length === 0) {
            sRows.push([...key, '', '', 0, '', '']);
            continue;
          }
          const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
          const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
          const half = xs.length > 1 ? (T975[Math.min(xs.length - 1, 10)]! * std) / Math.sqrt(xs.length) : 0;
          sRows.push([...key, mean, std, xs.length, mean - half, mean + half]);
        }
      }
    }
  }
  writeFileSync(join(dir, 'summary.csv'), stringify([sHeader, ...sRows]));

  // cells/<id>.json with a training curve.
  for (const c of cells) {
    const r = generator(c.seed * 1000 + cells.indexOf(c));
    const hasEstimate = c.metrics.apEstimate !== null;
    const curve =
      opts.curves === false
        ? []
        : Array.from({ length: steps }, (_, step) => {
            const ap = (c.metrics.trueAP ?? c.metrics.map!) * (1 - Math.exp(-(step + 1) / 8)) + (r() - 0.5) * 0.03;
            return hasEstimate ? { step, loss: 1 - ap, apEstimate: ap } : { step, loss: 0.1 * Math.exp(-step / 10) + r() * 0.01 };
          });
    const recallAt = Object.fromEntries(ks.map((k) => [String(k), c.metrics[`recallAt${k}`]]));
    const metrics = {
      map: c.metrics.map,
      mapAtR: c.metrics.mapAtR,
      rPrecision: c.metrics.rPrecision,
      precisionAt1: c.metrics.precisionAt1,
      recallAt,
      queries: 500,
    };
    const cell = {
      id: c.id,
      experiment,
      config: { dataset: { name: c.dataset }, loss: { name: c.loss, params: swept ? { [swept.column.split('.').pop()!]: c.sweptValue } : {} }, seed: c.seed },
      swept: swept ? { [swept.column]: c.sweptValue, seed: c.seed } : { seed: c.seed },
      dataset: c.dataset,
      loss: c.loss,
      seed: c.seed,
      metrics,
      untrained: { ...metrics, map: c.metrics.untrainedMap },
      apEstimate: hasEstimate ? { estimate: c.metrics.apEstimate, trueAP: c.metrics.trueAP, gap: c.metrics.apGap, includeQuery: c.loss !== 'fast-ap' } : null,
      curve,
      trainMs: c.metrics.trainMs,
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:00:02.000Z',
    };
    writeFileSync(join(dir, 'cells', `${c.id}.json`), JSON.stringify(cell));
  }

  const manifest = {
    experiment,
    file: `experiments/${experiment}.yaml`,
    resolved: {
      name: experiment,
      base: { dataset: { name: datasets[0] }, loss: { name: losses[0], params: {} }, train: { batchSize: 64, perClass: 4, iterations: steps, lr: 0.001 } },
      sweep: swept ? { [swept.column]: swept.values } : {},
      seeds,
    },
    swept: swept ? [swept.column] : [],
    report: opts.report ?? {},
    packageVersion: '0.1.0',
    gitCommit: null,
    gitDirty: null,
    node: process.version,
    tfjs: '4.22.0',
    backend: 'wasm',
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:10:00.000Z',
    command: opts.command ?? `bench run ${experiment} --seeds ${seeds.join(',')}`,
    cells: { total: cells.length, finished: cells.length, ranNow: cells.length, reused: 0 },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, experiment, sweptColumn: swept?.column ?? null, metricColumns, cells };
}
