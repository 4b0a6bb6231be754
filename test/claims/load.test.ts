import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { loadExperiment } from '../../src/experiments/load.js';
import { BASE_EXPERIMENT, fixtureRegistry, tempDir, writeYaml } from '../experiments/helpers.js';

const registry = fixtureRegistry();
const dir = tempDir();

const BASE = `${BASE_EXPERIMENT.trimEnd()}
seeds: [0, 1, 2]
sweep:
  grid: { loss.params.tau: [0.1, 0.01] }
`;

function load(claims: string) {
  return loadExperiment(writeYaml(dir, 'exp', `${BASE}claims:\n${claims}`), { registry });
}

function message(claims: string): string {
  try {
    load(claims);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('claims in experiment files', () => {
  it('reads the three kinds with their defaults', () => {
    const { experiment } = load(`
  - text: tau 0.01 is best
    best: { param: loss.params.tau, value: 0.01, metric: map }
  - text: gap grows with tau
    trend: { param: loss.params.tau, metric: '|apEstimate - trueAP|', direction: increasing }
  - text: trained beats untrained
    better: { a: map, b: untrainedMap }
    pin: holds
`);
    expect(experiment.claims).toEqual([
      {
        kind: 'best',
        text: 'tau 0.01 is best',
        where: {},
        param: 'loss.params.tau',
        value: 0.01,
        metric: { a: 'map', abs: false, text: 'map' },
        goal: 'higher',
      },
      {
        kind: 'trend',
        text: 'gap grows with tau',
        where: {},
        param: 'loss.params.tau',
        metric: { a: 'apEstimate', b: 'trueAP', abs: true, text: '|apEstimate - trueAP|' },
        direction: 'increasing',
      },
      { kind: 'better', text: 'trained beats untrained', where: {}, pin: 'holds', param: null, a: 'map', b: ['untrainedMap'], metrics: [], goal: 'higher' },
    ]);
  });

  it('names the file, the key path, the value and what is allowed', () => {
    const at = (m: string) => expect(m).toMatch(/exp\.yaml: claims\[0\]/);
    let m = message(`  - text: x\n    best: { param: loss.params.tau, value: 0.5, metric: map }\n`);
    at(m);
    expect(m).toContain('claims[0].best.value: 0.5 is not a value of loss.params.tau in the sweep; values: 0.1, 0.01');
    m = message(`  - text: x\n    best: { param: train.lr, value: 0.5, metric: map }\n`);
    expect(m).toContain('claims[0].best.param: "train.lr" is not allowed; expected a swept parameter: loss.params.tau, loss.name');
    m = message(`  - text: x\n    trend: { param: loss.params.tau, metric: mapp, direction: increasing }\n`);
    expect(m).toMatch(/claims\[0\]\.trend\.metric: unknown metric "mapp"; allowed: map, mapAtR/);
    m = message(`  - text: x\n    trend: { param: loss.params.tau, metric: map, direction: up }\n`);
    expect(m).toContain('claims[0].trend.direction: "up" is not allowed; expected increasing or decreasing');
    m = message(
      `  - text: x\n    best: { param: loss.params.tau, value: 0.1, metric: map }\n    trend: { param: loss.params.tau, metric: map, direction: increasing }\n`,
    );
    expect(m).toContain('claims[0]: has best and trend; expected exactly one of best, trend, better');
    m = message(`  - text: x\n    better: { a: map, b: untrainedMap }\n    pin: yes\n`);
    expect(m).toContain('claims[0].pin: "yes" is not allowed; expected one of holds, does not hold, inconclusive, not enough seeds');
    m = message(`  - text: x\n    better: { param: loss.params.tau, a: 0.1, b: 0.1, metric: map }\n`);
    expect(m).toContain('claims[0].better.b: 0.1 is compared with itself');
    m = message(`  - text: x\n    better: { a: map, b: untrainedMap, colour: red }\n`);
    expect(m).toContain('claims[0].better.colour: unknown key; allowed: param, a, b, metric, goal');
    m = message(`  - { text: x, better: { a: map, b: untrainedMap } }\n  - { text: x, better: { a: map, b: mapAtR } }\n`);
    expect(m).toContain('claims[1].text: "x" repeats another claim\'s text');
    m = message(`  some: thing\n`);
    expect(m).toContain('claims: {"some":"thing"} is not allowed; expected a list of claims');
  });
});

describe("shipped experiments state the paper's findings", () => {
  it('each shipped experiment file declares its claims', async () => {
    const { createLossRegistry } = await import('../../src/losses/index.js');
    const reg = createLossRegistry();
    const kinds = (name: string) =>
      (loadExperiment(`experiments/${name}.yaml`, { registry: reg }).experiment.claims ?? []).map((c) => [c.kind, 'param' in c ? c.param : null]);
    expect(kinds('ablation-tau')).toEqual([
      ['best', 'loss.params.tau'],
      ['trend', 'loss.params.tau'],
    ]);
    expect(kinds('ablation-p')).toEqual([['trend', 'train.perClass']]);
    expect(kinds('ablation-batch')).toEqual([['trend', 'train.batchSize']]);
    expect(kinds('ap-estimate')).toEqual([['trend', 'estimator.params.tau']]);
    expect(kinds('compare-losses')).toEqual([['better', 'loss.name']]);
    const ci = loadExperiment('experiments/ci.yaml', { registry: reg }).experiment.claims!;
    expect(ci.map((c) => c.pin)).toEqual(['holds']);
  });
});
