import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { LoadedDataset, Split } from '../../src/data/types.js';
import { loadExperiment } from '../../src/experiments/load.js';
import { combineDraws, drawGallery, evaluateProtocol } from '../../src/experiments/protocol-eval.js';
import { resultsTable, toCsv } from '../../src/experiments/tables.js';
import type { CellResult, EvalSpec, ResolvedExperiment } from '../../src/experiments/types.js';
import { createLossRegistry } from '../../src/losses/index.js';
import { bruteQueryGallery } from '../metrics/oracle.js';
import { fixtureRegistry, tempDir, writeYaml } from './helpers.js';

const dir = tempDir();
const BASE = `
base:
  dataset: { name: synthetic, params: { classes: 40, perClass: 4, dim: 8 } }
  train: { model: linear, embeddingDim: 4, iterations: 3, batchSize: 8, perClass: 2 }
  loss: { name: fake-ap }
`;
const load = (name: string, text: string) => loadExperiment(writeYaml(dir, name, text), { registry: fixtureRegistry() });

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('eval protocol in experiment files', () => {
  it('keeps the ids of existing cells: the ci experiment still has its baseline cell ids', () => {
    const { cells } = loadExperiment('ci', { registry: createLossRegistry() });
    const baseline = parse(readFileSync('results/baseline/ci.csv', 'utf8'), { columns: true }) as Record<string, string>[];
    expect(cells.map((c) => c.id).sort()).toEqual(baseline.map((r) => r.cell).sort());
    for (const c of cells) expect(Object.keys(c.config.eval).sort()).toEqual(['estimateBatches', 'k']);
  });

  it('writing the defaults explicitly gives the same cells as leaving them out', () => {
    const plain = load('plain', BASE);
    const explicit = load('explicit', `${BASE}  eval: { protocol: leave-one-out, similarity: dot, averaging: query, testClasses: 0 }\n`);
    expect(explicit.cells.map((c) => c.id)).toEqual(plain.cells.map((c) => c.id));
  });

  it('resolves gallery-draws with its defaults, and sweeps similarity', () => {
    const { cells, experiment } = load(
      'draws',
      `${BASE}  eval: { protocol: gallery-draws, averaging: class, testClasses: 10 }\nsweep:\n  grid: { eval.similarity: [dot, cosine, euclidean] }\n`,
    );
    expect(cells).toHaveLength(3);
    expect(cells[0]!.config.eval).toEqual({
      k: [1, 2, 4, 8],
      estimateBatches: 4,
      protocol: 'gallery-draws',
      averaging: 'class',
      perClass: 1,
      draws: 10,
      testClasses: 10,
    });
    expect(cells[1]!.config.eval.similarity).toBe('cosine');
    expect(new Set(cells.map((c) => c.id)).size).toBe(3);
    expect(experiment.swept).toEqual(['eval.similarity']);
  });

  it('rejects bad values with the file, key path and what is allowed', () => {
    expect(errorOf(() => load('bad1', `${BASE}  eval: { protocol: kfold }\n`))).toMatch(
      /bad1\.yaml: base\.eval\.protocol: "kfold" is not allowed; expected one of leave-one-out, query-gallery, gallery-draws/,
    );
    expect(errorOf(() => load('bad2', `${BASE}  eval: { draws: 5 }\n`))).toMatch(
      /bad2\.yaml: base\.eval\.draws: eval\.draws applies to eval\.protocol gallery-draws only/,
    );
    expect(errorOf(() => load('bad3', `${BASE}  eval: { protocol: gallery-draws, perClass: 0 }\n`))).toMatch(
      /base\.eval\.perClass: 0 is not allowed; expected an integer >= 1/,
    );
    expect(errorOf(() => load('bad4', `${BASE}  eval: { similarity: manhattan }\n`))).toMatch(
      /base\.eval\.similarity: "manhattan" is not allowed; expected one of dot, cosine, euclidean/,
    );
  });
});

/** Rows of integer coordinates (exact scores), `per` items per class, class c's items near c. */
function split(labels: number[], rng: Rng, d = 3): Split {
  const x = new Float32Array(labels.length * d);
  labels.forEach((l, i) => {
    for (let t = 0; t < d; t++) x[i * d + t] = (l % 3) + rng.int(3) - 1 + (t === 0 ? l : 0);
  });
  return { x, n: labels.length, dim: d, labels: Int32Array.from(labels) };
}

function dataset(test: Split, query?: Split, gallery?: Split): LoadedDataset {
  const out: LoadedDataset = { name: 'fixture', train: test, test, splitKind: 'class-disjoint' };
  if (query && gallery) Object.assign(out, { query, gallery });
  return out;
}

const spec = (extra: Partial<EvalSpec>): EvalSpec => ({ k: [1, 2], estimateBatches: 0, ...extra });
const input = (data: LoadedDataset, seed = 0) => ({ data, e: data.test.dim, test: data.test.x, embed: (s: Split) => s.x, seed, workers: 1 });

describe('evaluateProtocol', () => {
  const rng = new Rng(5);
  const labels = Array.from({ length: 40 }, (_, i) => i % 5);

  it('query-gallery: the dataset query split against its gallery, as the brute force', async () => {
    const q = split(labels.slice(0, 20), rng);
    const g = split([...labels, 7], rng);
    const m = await evaluateProtocol(spec({ protocol: 'query-gallery', similarity: 'euclidean' }), input(dataset(g, q, g)));
    const want = bruteQueryGallery(q.x, q.labels, g.x, g.labels, 3, [1, 2], { similarity: 'euclidean' });
    expect(m.map).toBeCloseTo(want.map, 12);
    expect(m.mrr).toBeCloseTo(want.mrr, 12);
    expect(m.recallAt['2']).toBeCloseTo(want.recallAt['2']!, 12);
    await expect(evaluateProtocol(spec({ protocol: 'query-gallery' }), input(dataset(g)))).rejects.toThrow(
      /eval\.protocol: query-gallery needs a dataset with query and gallery splits; dataset fixture has none/,
    );
  });

  it('testClasses: leave-one-out on a seeded subset of the classes, the same for every seed repeat', async () => {
    const t = split(labels, rng);
    const m = await evaluateProtocol(spec({ testClasses: 2 }), input(dataset(t), 3));
    // The subset is random: the result must be the brute force on one of the 10 pairs of classes.
    const candidates: number[] = [];
    for (let a = 0; a < 5; a++) {
      for (let b = a + 1; b < 5; b++) {
        const rows = labels.flatMap((l, i) => (l === a || l === b ? [i] : []));
        const x = rows.flatMap((i) => Array.from(t.x.subarray(i * 3, i * 3 + 3)));
        const l = rows.map((i) => labels[i]!);
        candidates.push(bruteQueryGallery(x, l, x, l, 3, [1], { self: true }).map);
      }
    }
    expect(candidates.some((c) => Math.abs(c - m.map) < 1e-12)).toBe(true);
    expect(m.queries).toBe(16);
    const again = await evaluateProtocol(spec({ testClasses: 2 }), input(dataset(t), 3));
    expect(again.map).toBe(m.map);
    await expect(evaluateProtocol(spec({ testClasses: 6 }), input(dataset(t)))).rejects.toThrow(
      /eval\.testClasses: 6 is more than the 5 classes of dataset fixture's test split/,
    );
  });

  it('gallery-draws: every draw gives the same numbers when a class is copies of one vector; spread 0', async () => {
    // Class c = 4 copies of (c, c², 1): any draw of the gallery gives the same ranking, so the
    // mean over draws is the brute force on one fixed draw (the first item of each class).
    const lab = Array.from({ length: 20 }, (_, i) => Math.floor(i / 4));
    const x = Float32Array.from(lab.flatMap((c) => [c, c * c, 1]));
    const t: Split = { x, n: 20, dim: 3, labels: Int32Array.from(lab) };
    const m = await evaluateProtocol(spec({ protocol: 'gallery-draws', perClass: 1, draws: 4, similarity: 'cosine' }), input(dataset(t)));
    const gRows = [0, 4, 8, 12, 16];
    const qRows = lab.map((_, i) => i).filter((i) => !gRows.includes(i));
    const pick = (rows: number[]) => ({ x: rows.flatMap((i) => Array.from(x.subarray(i * 3, i * 3 + 3))), l: rows.map((i) => lab[i]!) });
    const [qq, gg] = [pick(qRows), pick(gRows)];
    const want = bruteQueryGallery(qq.x, qq.l, gg.x, gg.l, 3, [1, 2], { similarity: 'cosine' });
    expect(m.map).toBeCloseTo(want.map, 12);
    expect(m.precisionAt1).toBeCloseTo(want.precisionAt1, 12);
    expect(m.queries).toBe(15);
    expect(m.draws!.count).toBe(4);
    expect(m.draws!.std.map).toBeCloseTo(0, 12);
  });

  it('gallery-draws: a class with too few items for perClass + 1 is a one-line error naming the field and value', async () => {
    const t = split([0, 0, 0, 1, 1, 2, 2, 2], rng);
    await expect(evaluateProtocol(spec({ protocol: 'gallery-draws', perClass: 2, draws: 2 }), input(dataset(t)))).rejects.toThrow(
      /eval\.perClass: 2 needs 3 items per class .* but class 1 of dataset fixture's test split has 2/,
    );
  });

  it('drawGallery puts exactly perClass items of each class in the gallery, differently per draw', () => {
    const l = Int32Array.from(Array.from({ length: 60 }, (_, i) => i % 6));
    const seen = new Set<string>();
    const r = new Rng(1);
    for (let t = 0; t < 5; t++) {
      const { query, gallery } = drawGallery(l, 2, r.fork(), 'x');
      expect(query.length + gallery.length).toBe(60);
      expect(new Set([...query, ...gallery]).size).toBe(60);
      for (let c = 0; c < 6; c++) expect(Array.from(gallery).filter((i) => l[i] === c)).toHaveLength(2);
      seen.add(Array.from(gallery).join(','));
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('combineDraws: mean and sample standard deviation over draws', () => {
    const m = (v: number) => ({ map: v, mapAtR: v / 2, rPrecision: v, precisionAt1: v, mrr: v, recallAt: { '1': v }, queries: 9, leftOut: 0 });
    const c = combineDraws([m(0.2), m(0.4), m(0.9)]);
    expect(c.map).toBeCloseTo(0.5, 15);
    // deviations −0.3, −0.1, 0.4: Σ² = 0.26, / 2 → 0.13.
    expect(c.draws!.std.map).toBeCloseTo(Math.sqrt(0.13), 15);
    expect(c.draws!.std.recallAt['1']).toBeCloseTo(Math.sqrt(0.13), 15);
    expect(c.draws!.count).toBe(3);
  });
});

describe('results.csv columns for protocols', () => {
  const exp = { name: 'demo', swept: [] } as unknown as ResolvedExperiment;
  const metrics = { map: 0.5, mapAtR: 0.25, rPrecision: 0.3, precisionAt1: 0.6, recallAt: { '1': 0.6 }, mrr: 0.7, queries: 30, leftOut: 2 };
  const cell = (id: string, ev: Partial<EvalSpec>, m: object = metrics): CellResult =>
    ({
      id,
      experiment: 'demo',
      dataset: 'synthetic',
      loss: 'triplet',
      seed: 0,
      swept: {},
      config: { dataset: { name: 'synthetic', params: {} }, train: {} as never, loss: { name: 'triplet', params: {} }, eval: spec({ k: [1], ...ev }), seed: 0 },
      metrics: m,
      untrained: metrics,
      apEstimate: null,
      curve: [],
      trainMs: 1,
      startedAt: '',
      finishedAt: '',
    }) as CellResult;

  it('default cells: protocol columns only, no new metric columns', () => {
    const rows = parse(toCsv(resultsTable(exp, [cell('a', {})])), { columns: true }) as Record<string, string>[];
    expect(rows[0]).toMatchObject({ protocol: 'leave-one-out', similarity: 'dot', averaging: 'query' });
    expect(Object.keys(rows[0]!)).not.toContain('mrr');
  });

  it('gallery-draws cells: MRR, queries left out, draws and the spread of each metric', () => {
    const drawn = {
      ...metrics,
      draws: { count: 10, std: { map: 0.01, mapAtR: 0.02, rPrecision: 0.03, precisionAt1: 0.04, mrr: 0.05, recallAt: { '1': 0.06 } } },
    };
    const rows = parse(
      toCsv(
        resultsTable(exp, [cell('a', {}), cell('b', { protocol: 'gallery-draws', perClass: 1, draws: 10, similarity: 'cosine', testClasses: 800 }, drawn)]),
      ),
      {
        columns: true,
      },
    ) as Record<string, string>[];
    expect(rows[1]).toMatchObject({
      protocol: 'gallery-draws perClass=1 draws=10 testClasses=800',
      similarity: 'cosine',
      averaging: 'query',
      mrr: '0.7',
      queriesLeftOut: '2',
      draws: '10',
      mapDrawStd: '0.01',
      recallAt1DrawStd: '0.06',
    });
    expect(rows[0]!.draws).toBe('');
    expect(rows[0]!.mrr).toBe('0.7');
  });
});

describe('an experiment under each protocol, end to end', () => {
  it('runs query-gallery on a features CSV split into query and gallery, and gallery-draws on synthetic', async () => {
    const { runExperiment } = await import('../../src/experiments/runner.js');
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    // 12 classes × 6 rows of 4 features: classes 0-5 train; of classes 6-11, rows 0-1 query, rows 2-5 gallery.
    const r = new Rng(9);
    const lines = ['f0,f1,f2,f3,label,part'];
    for (let c = 0; c < 12; c++) {
      for (let i = 0; i < 6; i++) {
        const f = [0, 1, 2, 3].map((t) => (t === c % 4 ? 2 : 0) + r.normal() * 0.5);
        lines.push(`${f.join(',')},${c},${c < 6 ? 'train' : i < 2 ? 'query' : 'gallery'}`);
      }
    }
    writeFileSync(join(dir, 'feats.csv'), lines.join('\n'));
    const file = writeYaml(
      dir,
      'protocols',
      `
base:
  dataset: { name: features, params: { path: ${join(dir, 'feats.csv')}, splitColumn: part } }
  train: { model: linear, embeddingDim: 4, iterations: 4, batchSize: 8, perClass: 2 }
  loss: { name: triplet }
  eval: { k: [1, 4], estimateBatches: 0, protocol: query-gallery, similarity: euclidean }
sweep:
  list:
    - { eval.protocol: query-gallery }
    - { eval.protocol: gallery-draws, eval.draws: 3, eval.perClass: 2 }
`,
    );
    const run = await runExperiment(file, { progress: 'none', command: 'bench run test', resultsDir: join(dir, 'results'), evalWorkers: 1 } as never);
    const rows = run.results.rows;
    expect(rows.map((x) => x.protocol)).toEqual(['query-gallery', 'gallery-draws perClass=2 draws=3']);
    expect(rows.every((x) => x.similarity === 'euclidean' && x.averaging === 'query')).toBe(true);
    // query-gallery: 12 queries (2 per test class), each with 4 positives: none left out.
    expect(rows[0]!.queriesLeftOut).toBe('0');
    expect(rows[1]!.draws).toBe('3');
    for (const x of rows) for (const m of ['map', 'mrr', 'recallAt1']) expect(Number(x[m])).toBeGreaterThan(0);
    // gallery-draws: 6 test classes × (6 − 2) queries per draw.
    const cell = JSON.parse((await import('node:fs')).readFileSync(join(run.dir, 'cells', `${run.ran[1]}.json`), 'utf8')) as CellResult;
    expect(cell.metrics.queries).toBe(24);
    expect(cell.metrics.draws!.count).toBe(3);
  });
});
