import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { lossSpecsOf, readContractCsv, type Row } from '../../src/experiments/contract.js';
import { readManifest, validateManifest } from '../../src/experiments/manifest-file.js';
import { resultsTable, summaryTable, toCsv } from '../../src/experiments/tables.js';
import type { CellResult, EvalSpec, ResolvedExperiment } from '../../src/experiments/types.js';
import type { RetrievalMetrics } from '../../src/metrics/types.js';
import { tempDir } from './helpers.js';

const SWEPT = ['loss.params.tau', 'loss.params.mining', 'train.batchSize', 'train.withReplacement', 'train.model', 'dataset.params.noise', 'eval.k'];
const exp = { name: 'contract', swept: SWEPT } as unknown as ResolvedExperiment;
const KS = [1, 4];

/** Metrics whose doubles have long binary expansions, so that any loss of a bit shows. */
function metrics(x: number): RetrievalMetrics {
  return { map: x, mapAtR: x / 3, rPrecision: Math.PI / (7 + x), precisionAt1: 0.1 + 0.2, recallAt: { '1': x / 7, '4': 5e-324 + x }, queries: 9, mrr: 2 / 3 };
}

interface Spec {
  id: string;
  loss: 'smooth-ap' | 'triplet';
  seed: number;
  x: number;
  swept: Record<string, string | number | boolean | null>;
  eval?: Partial<EvalSpec>;
}

function cell(s: Spec): CellResult {
  const m = metrics(s.x);
  const draws = s.eval?.protocol === 'gallery-draws';
  return {
    id: s.id,
    experiment: exp.name,
    config: {
      dataset: { name: 'synthetic', params: { noise: s.swept['dataset.params.noise'] as number } },
      train: { batchSize: s.swept['train.batchSize'] } as never,
      loss: { name: s.loss, params: {} },
      eval: { k: KS, estimateBatches: 1, ...s.eval },
      seed: s.seed,
    },
    swept: s.swept,
    dataset: 'synthetic',
    loss: s.loss,
    seed: s.seed,
    metrics: draws ? { ...m, leftOut: 3, draws: { count: 10, std: { ...metrics(s.x / 10), recallAt: { '1': 1 / 9, '4': 2 / 9 } } } } : { ...m, leftOut: 0 },
    untrained: metrics(s.x / 4),
    input: metrics(s.x / 2),
    apEstimate: s.loss === 'smooth-ap' ? { estimate: 0.7 + s.x / 11, trueAP: 0.6 + s.x / 13, gap: s.x / 11 - s.x / 13 + 0.1, includeQuery: true } : null,
    curve: [],
    trainMs: 1234.5678 + s.x,
    startedAt: '',
    finishedAt: '',
  };
}

const smooth = (id: string, seed: number, x: number, tau: number, ev?: Partial<EvalSpec>): CellResult =>
  cell({
    id,
    loss: 'smooth-ap',
    seed,
    x,
    swept: {
      'loss.params.tau': tau,
      'loss.params.mining': null,
      'train.batchSize': 64,
      'train.withReplacement': seed === 1,
      'train.model': 'mlp',
      'dataset.params.noise': 1.5,
      'eval.k': '[1,4]',
    },
    ...(ev ? { eval: ev } : {}),
  });

const cells = [
  smooth('aaaaaaaaaaa1', 0, 0.1, 0.01),
  smooth('aaaaaaaaaaa2', 1, 1 / 3, 0.01),
  smooth('aaaaaaaaaaa3', 2, NaN, 1e-3, { protocol: 'gallery-draws', perClass: 1, draws: 10 }),
  cell({
    id: 'bbbbbbbbbbb1',
    loss: 'triplet',
    seed: 0,
    x: 0.45,
    swept: {
      'loss.params.tau': null,
      'loss.params.mining': 'semihard',
      'train.batchSize': 32,
      'train.withReplacement': false,
      'train.model': 'linear',
      'dataset.params.noise': 0.25,
      'eval.k': '[1,4]',
    },
  }),
];

/** What the writer was given for a cell, by column: worked out here from the cell object. */
function expectedRow(c: CellResult): Record<string, unknown> {
  const m = c.metrics;
  const draws = c.config.eval.protocol === 'gallery-draws';
  const sd = m.draws?.std;
  return {
    experiment: exp.name,
    cell: c.id,
    dataset: 'synthetic',
    loss: c.loss,
    ...c.swept,
    seed: c.seed,
    protocol: draws ? 'gallery-draws perClass=1 draws=10' : 'leave-one-out',
    similarity: 'dot',
    averaging: 'query',
    map: m.map,
    mapAtR: m.mapAtR,
    rPrecision: m.rPrecision,
    precisionAt1: m.precisionAt1,
    recallAt1: m.recallAt['1'],
    recallAt4: m.recallAt['4'],
    untrainedMap: c.untrained.map,
    inputMap: c.input!.map,
    inputMapAtR: c.input!.mapAtR,
    inputRecallAt1: c.input!.recallAt['1'],
    apEstimate: c.apEstimate?.estimate ?? null,
    trueAP: c.apEstimate?.trueAP ?? null,
    apGap: c.apEstimate?.gap ?? null,
    trainMs: c.trainMs,
    mrr: m.mrr,
    queriesLeftOut: m.leftOut,
    draws: draws ? 10 : null,
    mapDrawStd: sd?.map ?? null,
    mapAtRDrawStd: sd?.mapAtR ?? null,
    rPrecisionDrawStd: sd?.rPrecision ?? null,
    precisionAt1DrawStd: sd?.precisionAt1 ?? null,
    mrrDrawStd: sd?.mrr ?? null,
    recallAt1DrawStd: sd?.recallAt['1'] ?? null,
    recallAt4DrawStd: sd?.recallAt['4'] ?? null,
  };
}

/** The JS type each column must come back as (null aside), written out by hand. */
const JS_TYPE: Record<string, string> = {
  experiment: 'string',
  cell: 'string',
  dataset: 'string',
  loss: 'string',
  'loss.params.tau': 'number',
  'loss.params.mining': 'string',
  'train.batchSize': 'number',
  'train.withReplacement': 'boolean',
  'train.model': 'string',
  'dataset.params.noise': 'number',
  'eval.k': 'string',
  seed: 'number',
  protocol: 'string',
  similarity: 'string',
  averaging: 'string',
};

function writeCsv(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('results.csv through the contract', () => {
  const dir = tempDir();
  const path = writeCsv(dir, 'results.csv', toCsv(resultsTable(exp, cells)));
  const read = readContractCsv(path, 'results');

  it('gives back every value the writer was given, with its declared type, numbers bit for bit', () => {
    expect(read.rows).toHaveLength(cells.length);
    read.rows.forEach((row, i) => {
      const want = expectedRow(cells[i]!);
      expect(Object.keys(row).sort()).toEqual(Object.keys(want).sort());
      for (const [col, v] of Object.entries(row)) {
        const w = want[col];
        expect(Object.is(v, w === undefined ? null : w), `${cells[i]!.id} ${col}: read ${String(v)}, written ${String(w)}`).toBe(true);
        if (v !== null) expect(typeof v, col).toBe(JS_TYPE[col] ?? 'number');
      }
    });
  });

  it('reads the counts of a gallery-draws cell as integers and the NaN of a metric as NaN', () => {
    const draws = read.rows[2]!;
    expect(Number.isInteger(draws.draws)).toBe(true);
    expect(draws.queriesLeftOut).toBe(3);
    expect(Number.isNaN(draws.map)).toBe(true);
  });
});

describe('summary.csv through the contract', () => {
  it('types the statistics: the mean over seeds as computed here, n an integer, an empty spread null', () => {
    const dir = tempDir();
    const path = writeCsv(dir, 'summary.csv', toCsv(summaryTable(exp, cells)));
    const rows = readContractCsv(path, 'summary').rows;
    // The two smooth-ap cells at tau 0.01 share a configuration (their swept columns apart from
    // the seed come from the cell objects, not the configuration), so they form one group of two seeds.
    const group = rows.filter((r) => r.loss === 'smooth-ap' && r['loss.params.tau'] === 0.01);
    const map = group.find((r) => r.metric === 'map')!;
    expect(map.mean).toBe((0.1 + 1 / 3) / 2);
    expect(map.n).toBe(2);
    expect(map.std as number).toBeCloseTo((1 / 3 - 0.1) / Math.SQRT2, 15);
    // The one triplet seed has no spread: empty, read back as null.
    const single = rows.find((r) => r.loss === 'triplet' && r.metric === 'map')!;
    expect(single.mean).toBe(0.45);
    expect(single.std).toBeNull();
    expect(single.ci95Low).toBeNull();
    expect(rows.every((r) => typeof r.metric === 'string' && typeof r.n === 'number' && Number.isInteger(r.n))).toBe(true);
  });
});

describe('a value that is not of its declared type', () => {
  const header = 'experiment,cell,dataset,loss,loss.params.tau,train.batchSize,train.withReplacement,seed,map';
  const good = 'e,c1,synthetic,smooth-ap,0.01,64,true,0,0.5';
  const cases: Array<[string, string, string]> = [
    ['e,c2,synthetic,smooth-ap,0.01,64,true,0,abc', 'map', '"abc" is not allowed; expected a number (NaN and Infinity included), or empty'],
    ['e,c2,synthetic,smooth-ap,0.01,64.5,true,0,0.5', 'train.batchSize', '"64.5" is not allowed; expected an integer, or empty'],
    ['e,c2,synthetic,smooth-ap,0.01,64,yes,0,0.5', 'train.withReplacement', '"yes" is not allowed; expected true or false, or empty'],
    ['e,c2,synthetic,smooth-ap,tiny,64,true,0,0.5', 'loss.params.tau', '"tiny" is not allowed; expected a number (NaN and Infinity included), or empty'],
    ['e,,synthetic,smooth-ap,0.01,64,true,0,0.5', 'cell', '"" is not allowed; expected text, never empty'],
    ['e,c2,synthetic,smooth-ap,0.01,64,true,0x1,0.5', 'seed', '"0x1" is not allowed; expected an integer, never empty'],
  ];

  it.each(cases)('%s is one line naming the file, line, column, value and type', (bad, column, what) => {
    const path = writeCsv(tempDir(), 'results.csv', `${header}\n${good}\n${bad}\n`);
    let err: unknown;
    try {
      readContractCsv(path, 'results');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`${path}: line 3, column "${column}": ${what}`);
  });

  it('names an enum parameter with its allowed values', () => {
    const path = writeCsv(tempDir(), 'results.csv', 'experiment,cell,dataset,loss,loss.params.mining,seed\ne,c,synthetic,triplet,soft,0\n');
    expect(() => readContractCsv(path, 'results')).toThrow(
      `${path}: line 2, column "loss.params.mining": "soft" is not allowed; expected one of all, semihard, hard, batch-hard, or empty`,
    );
  });

  it('makes `bench report` stop with that line and exit status 2, no stack trace', () => {
    const results = tempDir();
    const d = join(results, 'broken');
    writeCsv(d, 'results.csv', `${header}\n${good}\ne,c2,synthetic,smooth-ap,0.01,64,true,0,abc\n`);
    writeCsv(d, 'summary.csv', 'experiment,dataset,loss,loss.params.tau,train.batchSize,train.withReplacement,metric,mean,std,n,ci95Low,ci95High\n');
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'report', 'broken', '--results-dir', results, '--reports-dir', join(results, 'out')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `bench: ${join(d, 'results.csv')}: line 3, column "map": "abc" is not allowed; expected a number (NaN and Infinity included), or empty\n`,
    );
  });
});

describe('parameter columns of a loss from a --plugin file', () => {
  const text = 'experiment,cell,dataset,loss,loss.params.alpha,loss.params.tau,seed\ne,p1,synthetic,my-loss,0.5,0.01,0\ne,s1,synthetic,smooth-ap,,0.02,0\n';
  const mine = { name: 'my-loss', params: [{ name: 'alpha', type: 'number' as const, default: 1, doc: 'a weight' }] };

  it('reads as text when the plugin is not loaded, whatever the value looks like', () => {
    const rows: Row[] = readContractCsv(writeCsv(tempDir(), 'results.csv', text), 'results').rows;
    expect(rows[0]!['loss.params.alpha']).toBe('0.5');
    expect(rows[0]!['loss.params.tau']).toBe('0.01');
    expect(rows[1]!['loss.params.tau']).toBe(0.02);
    expect(rows[1]!['loss.params.alpha']).toBeNull();
  });

  it("reads with the plugin's spec when it is loaded", () => {
    const losses = lossSpecsOf([mine]);
    const rows = readContractCsv(writeCsv(tempDir(), 'results.csv', text), 'results', { losses }).rows;
    expect(rows[0]!['loss.params.alpha']).toBe(0.5);
    // my-loss takes no tau and no loaded loss does: text.
    expect(rows[0]!['loss.params.tau']).toBe('0.01');
  });
});

describe('estimator parameter columns', () => {
  it("type by the row's estimator.name wherever that column stands, else by the experiment's estimator", () => {
    const swept = 'experiment,cell,dataset,loss,estimator.params.tau,estimator.name,seed\ne,c1,synthetic,triplet,0.05,smooth-ap,0\n';
    expect(readContractCsv(writeCsv(tempDir(), 'results.csv', swept), 'results').rows[0]!['estimator.params.tau']).toBe(0.05);
    const fixed = 'experiment,cell,dataset,loss,estimator.params.tau,seed\ne,c1,synthetic,triplet,0.05,0\n';
    const path = writeCsv(tempDir(), 'results.csv', fixed);
    expect(readContractCsv(path, 'results', { estimator: 'smooth-ap' }).rows[0]!['estimator.params.tau']).toBe(0.05);
    expect(readContractCsv(path, 'results').rows[0]!['estimator.params.tau']).toBe('0.05');
  });

  it('reads a column named like an Object property as text', () => {
    const path = writeCsv(tempDir(), 'results.csv', 'experiment,cell,dataset,loss,seed,constructor\ne,c1,synthetic,triplet,0,1\n');
    expect(readContractCsv(path, 'results').rows[0]!.constructor).toBe('1');
  });
});

describe('manifest.json', () => {
  it('reads the committed baseline manifest, written by the runner', () => {
    const m = readManifest(join('results', 'baseline', 'ci.manifest.json'));
    expect(m.experiment).toBe('ci');
    expect(Number.isInteger(m.cells.total)).toBe(true);
    expect(typeof m.inputs?.data).toBe('object');
  });

  const valid = JSON.parse(readFileSync(join('results', 'baseline', 'ci.manifest.json'), 'utf8')) as Record<string, unknown>;

  it('names a missing field or one of the wrong type in one line', () => {
    const { cells: _c, ...noCells } = valid;
    expect(() => validateManifest(noCells, 'm.json')).toThrow(
      'm.json: not a valid manifest (field "cells" is missing; expected an object of counts total, finished, ranNow, reused)',
    );
    expect(() => validateManifest({ ...valid, swept: 'tau' }, 'm.json')).toThrow(
      'm.json: not a valid manifest (field "swept" is "tau"; expected a list of strings)',
    );
    expect(() => validateManifest({ ...valid, inputs: { data: {} } }, 'm.json')).toThrow(/^m\.json: not a valid manifest \(field "inputs" is /);
    expect(() => validateManifest([], 'm.json')).toThrow('m.json: not a valid manifest ([] is not a JSON object)');
  });

  it('names a file that is not JSON', () => {
    const path = writeCsv(tempDir(), 'manifest.json', '{"experiment": ');
    expect(() => readManifest(path)).toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a valid manifest \\(`));
  });
});
