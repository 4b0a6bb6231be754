import Ajv from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validate, type Json, type Node } from '../../src/core/shape.js';
import { experimentFormat } from '../../src/experiments/format.js';
import { loadExperiment } from '../../src/experiments/load.js';
import { experimentSchema } from '../../src/experiments/schema.js';
import { createLossRegistry } from '../../src/losses/index.js';
import { fixtureRegistry, tempDir, writeYaml, BASE_EXPERIMENT, userErrorOf } from './helpers.js';

const registry = fixtureRegistry();
const dir = tempDir();

const BASE = BASE_EXPERIMENT;

const errorOf = userErrorOf;

describe('a malformed experiment file fails on one line: file, key path, value, what is allowed', () => {
  // Each message is written out in full: the file, the key path, the offending value (where there
  // is one) and what would have been accepted.
  const cases: Array<[string, string, string]> = [
    [
      'unknown top-level key',
      `${BASE}\nsweeps: {}\n`,
      'sweeps: unknown key; allowed: description, base, seeds, datasets, sweep, tolerances, report, claims, tune',
    ],
    [
      'top level not a mapping',
      '- base\n',
      '(top level): ["base"] is not allowed; expected a mapping with keys description, base, seeds, datasets, sweep, tolerances, report, claims, tune',
    ],
    [
      'grid values not a list',
      `${BASE}\nsweep:\n  grid:\n    loss.params.tau: 0.1\n`,
      'sweep.grid.loss.params.tau: 0.1 is not allowed; expected a list of values',
    ],
    [
      'a grid value that is a mapping',
      `${BASE}\nsweep:\n  grid:\n    loss.params.tau: [0.1, { x: 1 }]\n`,
      'sweep.grid.loss.params.tau[1]: {"x":1} is not allowed; expected a number, string or boolean',
    ],
    ['an empty grid list', `${BASE}\nsweep:\n  grid:\n    loss.params.tau: []\n`, 'sweep.grid.loss.params.tau: empty; expected at least one value'],
    ['grid not a mapping', `${BASE}\nsweep:\n  grid: [1, 2]\n`, 'sweep.grid: [1,2] is not allowed; expected a mapping of key paths to lists of values'],
    ['unknown sweep key', `${BASE}\nsweep:\n  grids: {}\n`, 'sweep.grids: unknown key; allowed: grid, list, exclude'],
    ['bad tolerance key', `${BASE}\ntolerances:\n  map: { ab: 0.001 }\n`, 'tolerances.map.ab: unknown key; allowed: abs, rel'],
    ['empty tolerance', `${BASE}\ntolerances:\n  map: {}\n`, 'tolerances.map: empty; expected abs and/or rel'],
    ['tolerance as text', `${BASE}\ntolerances:\n  map: { rel: "1%" }\n`, 'tolerances.map.rel: "1%" is not allowed; expected a number >= 0'],
    [
      'report.x not a swept key',
      `${BASE}\nsweep:\n  grid:\n    train.lr: [0.01, 0.1]\nreport: { x: loss.params.tau }\n`,
      'report.x: "loss.params.tau" is not a swept column; allowed: train.lr, dataset, loss',
    ],
    ['report.logX not a boolean', `${BASE}\nreport: { logX: "yes" }\n`, 'report.logX: "yes" is not allowed; expected true or false'],
    ['repeated seed', `${BASE}\nseeds: [0, 1, 0]\n`, 'seeds: [0,1,0] repeats a seed; expected distinct seeds'],
    ['negative seed', `${BASE}\nseeds: [0, -1]\n`, 'seeds[1]: -1 is not allowed; expected an integer >= 0 and <= 4294967295'],
    ['dataset entry without a name', `${BASE}\ndatasets:\n  - { params: { noise: 1 } }\n`, 'datasets[0].name: missing; expected the name of a dataset'],
    [
      "a dataset entry setting the dataset's own key",
      `${BASE}\ndatasets:\n  - { name: synthetic, set: { dataset.params.noise: 1 } }\n`,
      "datasets[0].set.dataset.params.noise: unknown key; a dataset's own settings go in datasets[0].name and datasets[0].params",
    ],
    ['an empty list entry', `${BASE}\nsweep:\n  list:\n    - {}\n`, 'sweep.list[0]: empty; expected at least one key path'],
    ['an exclude entry naming no key path', `${BASE}\nsweep:\n  exclude:\n    - { lr: 1 }\n`, 'sweep.exclude[0].lr: unknown key; allowed: ' + allowedPaths()],
    [
      'a train value of the wrong type',
      BASE.replace('iterations: 3', 'iterations: "3"'),
      'base.train.iterations: "3" is not allowed; expected an integer >= 0',
    ],
    [
      'estimateBatches over its maximum',
      BASE.replace('  loss:', '  eval: { estimateBatches: 20000 }\n  loss:'),
      'base.eval.estimateBatches: 20000 is not allowed; expected an integer >= 0 and <= 10000',
    ],
    ['a loss without a name', BASE.replace('name: fake-ap, ', ''), 'base.loss.name: missing; expected the name of a loss'],
    ['no base', 'seeds: [0]\n', 'base: missing; expected { dataset, train, loss, eval }'],
    ['an empty description', `description: ''\n${BASE}`, 'description: "" is not allowed; expected a string'],
    [
      'tune.budget out of range',
      `${BASE}\ntune: { budget: 0, losses: { fake-ap: null } }\n`,
      'tune.budget: 0 is not allowed; expected an integer >= 1 and <= 100000',
    ],
    [
      'a tuning range with an unknown key',
      `${BASE}\ntune:\n  losses:\n    fake-ap: { loss.params.tau: { min: 0.01, maxx: 1 } }\n`,
      'tune.losses.fake-ap.loss.params.tau.maxx: unknown key; allowed: min, max, log, values',
    ],
    [
      'a claim with an unknown key',
      `${BASE}\nclaims:\n  - { text: t, colour: red, best: { param: loss.name, value: fake-ap, metric: map } }\n`,
      'claims[0].colour: unknown key; allowed: text, best, trend, better, where, pin',
    ],
    [
      'a claim without its sentence',
      `${BASE}\nclaims:\n  - { best: { param: loss.name, value: fake-ap, metric: map } }\n`,
      'claims[0].text: missing; expected the claim as a sentence',
    ],
    ['no loss to tune', `${BASE}\ntune: { losses: {} }\n`, 'tune.losses: empty; expected at least one loss'],
  ];
  for (const [name, text, tail] of cases) {
    it(name, () => {
      const path = writeYaml(dir, `bad-${name.replace(/\W+/g, '-')}`, text);
      expect(errorOf(() => loadExperiment(path, { registry })).message).toBe(`${path}: ${tail}`);
    });
  }

  it('the JSON Schema rejects each of them too, except what needs the cells (report.x must be swept)', () => {
    const ajv = new Ajv({ allErrors: true }).compile(experimentSchema(registry.all()));
    for (const [name, text] of cases) expect(ajv(parse(text)), name).toBe(name === 'report.x not a swept key');
  });
});

/** What checkPath lists for a key path that starts with none of the known heads (written out here). */
function allowedPaths(): string {
  const train = ['model', 'embeddingDim', 'hidden', 'lr', 'weightDecay', 'iterations', 'batchSize', 'perClass', 'withReplacement', 'logEvery'];
  const ev = ['k', 'estimateBatches', 'protocol', 'similarity', 'averaging', 'perClass', 'draws', 'testClasses'];
  return [
    'dataset.name',
    'dataset.params.<param>',
    'loss.name',
    'loss.params.<param>',
    'estimator.name',
    'estimator.params.<param>',
    ...train.map((f) => `train.${f}`),
    ...ev.map((f) => `eval.${f}`),
  ].join(', ');
}

describe('the validator and the JSON Schema accept the same keys', () => {
  const schema = experimentSchema(createLossRegistry().all());
  // Plugin parameters: the JSON Schema lists them per plugin, the resolver checks them against
  // the plugin's specs once the name is known; both walks stop there.
  const own = (path: string): boolean => /^base\.(dataset|loss|estimator)\.params$/.test(path);

  /** Path → the keys of the mapping there ("*" for free keys); "[]" marks a list item. */
  function fromShape(node: Node, at: string, out: Map<string, Set<string>>): void {
    if (own(at)) return;
    const add = (k: string) => out.set(at, (out.get(at) ?? new Set<string>()).add(k));
    if (node.kind === 'object') {
      for (const [k, f] of Object.entries(node.fields)) {
        add(k);
        fromShape(f.shape, at ? `${at}.${k}` : k, out);
      }
    } else if (node.kind === 'map') {
      add('*');
      fromShape(node.value, `${at}.*`, out);
    } else if (node.kind === 'list') fromShape(node.item, `${at}[]`, out);
  }

  /** Path → the keys the JSON Schema requires there (the probe below fills them in to get past them). */
  const requiredAt = new Map<string, string[]>();

  function fromJson(s: Json, at: string, out: Map<string, Set<string>>): void {
    if (own(at)) return;
    const add = (k: string) => out.set(at, (out.get(at) ?? new Set<string>()).add(k));
    if (Array.isArray(s.required)) requiredAt.set(at, s.required as string[]);
    for (const branch of (s.anyOf as Json[] | undefined) ?? []) fromJson(branch, at, out);
    if (s.type === 'object') {
      const props = (s.properties ?? {}) as Record<string, Json>;
      for (const [k, p] of Object.entries(props)) {
        add(k);
        fromJson(p, at ? `${at}.${k}` : k, out);
      }
      if (s.additionalProperties !== false) {
        add('*');
        if (typeof s.additionalProperties === 'object') fromJson(s.additionalProperties as Json, `${at}.*`, out);
      }
    }
    if (s.type === 'array' && s.items) fromJson(s.items as Json, `${at}[]`, out);
  }

  const sorted = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]).sort());
  const shapeKeys = new Map<string, Set<string>>();
  fromShape(experimentFormat, '', shapeKeys);
  const jsonKeys = new Map<string, Set<string>>();
  fromJson(schema, '', jsonKeys);

  it('walking both gives the same mappings with the same keys', () => {
    expect(sorted(shapeKeys)).toEqual(sorted(jsonKeys));
    // The walk reaches every part of the format (a walk that stopped early would compare nothing).
    expect(Object.keys(sorted(jsonKeys))).toEqual([
      '',
      'base',
      'base.dataset',
      'base.estimator',
      'base.eval',
      'base.loss',
      'base.train',
      'claims[]',
      'claims[].best',
      'claims[].better',
      'claims[].trend',
      'claims[].where',
      'datasets[]',
      'datasets[].params',
      'datasets[].set',
      'report',
      'sweep',
      'sweep.exclude[]',
      'sweep.grid',
      'sweep.list[]',
      'tolerances',
      'tolerances.*',
      'tune',
      'tune.losses',
      'tune.losses.*',
      'tune.losses.*.*',
    ]);
  });

  it('the validator rejects an unknown key at every closed mapping of the JSON Schema, listing exactly its keys', () => {
    let probed = 0;
    for (const [path, keys] of jsonKeys) {
      if (keys.has('*')) continue;
      // A minimal file with `{ __nope: 1 }` at this path ("[]" → a one-item list, "*" → a key);
      // a key required on the way there gets a string (a name, a claim's text).
      const doc: Record<string, unknown> = { base: { loss: { name: 'x' } } };
      const segs = path === '' ? [] : path.split('.');
      let cur: Record<string, unknown> = doc;
      let shown = '';
      let at = '';
      for (const seg of segs) {
        for (const r of requiredAt.get(at) ?? []) if (!(r in cur) && r !== seg.replace('[]', '')) cur[r] = 'x';
        const isList = seg.endsWith('[]');
        const key = seg === '*' ? 'map' : seg.replace('[]', '');
        const next: Record<string, unknown> = key in cur && typeof cur[key] === 'object' ? { ...(cur[key] as object) } : {};
        cur[key] = isList ? [next] : next;
        shown = `${shown ? `${shown}.` : ''}${key}${isList ? '[0]' : ''}`;
        at = at ? `${at}.${seg}` : seg;
        cur = next;
      }
      cur.__nope = 1;
      const m = /: unknown key; allowed: (.*)$/.exec(errorOf(() => validate(experimentFormat, doc, 'f.yaml')).message);
      expect(errorOf(() => validate(experimentFormat, doc, 'f.yaml')).message.startsWith(`f.yaml: ${shown ? `${shown}.` : ''}__nope: unknown key`), path).toBe(
        true,
      );
      expect(m?.[1]?.split(', ').sort(), path).toEqual([...keys].sort());
      probed++;
    }
    expect(probed).toBe(17);
  });
});
