import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiment, runExperiment, UserError } from '../../src/index.js';
import { tempDir, writeYaml } from '../experiments/helpers.js';

const CLI = resolve('dist/cli/main.js');
const dir = tempDir();

/** An experiment whose base train block holds `train` (YAML flow-map entries). */
const withTrain = (name: string, train: string): string =>
  writeYaml(dir, name, `base:\n  dataset: { name: synthetic }\n  train: { ${train} }\n  loss: { name: smooth-ap }\n`);

const ALLOWED = 'model, embeddingDim, hidden, lr, weightDecay, iterations, batchSize, perClass, withReplacement, logEvery';

// Each bad train value, with the one line that must name the file, the key path, the value and
// what is allowed: the library's UserError message, and the CLI's after "bench: ".
const CASES: Array<[string, string]> = [
  ['lr: 0', 'base.train.lr: 0 is not allowed; expected a number > 0'],
  ['lr: fast', 'base.train.lr: "fast" is not allowed; expected a number > 0'],
  ['batchSize: 1', 'base.train.batchSize: 1 is not allowed; expected an integer >= 2'],
  ['batchSize: 6.5', 'base.train.batchSize: 6.5 is not allowed; expected an integer >= 2'],
  ['perClass: 1', 'base.train.perClass: 1 is not allowed; expected an integer >= 2'],
  ['iterations: -1', 'base.train.iterations: -1 is not allowed; expected an integer >= 0'],
  ['embeddingDim: 0', 'base.train.embeddingDim: 0 is not allowed; expected an integer >= 1'],
  ['weightDecay: -0.1', 'base.train.weightDecay: -0.1 is not allowed; expected a number >= 0'],
  ['model: resnet', 'base.train.model: "resnet" is not allowed; expected one of linear, mlp, convnet'],
  ['logEvery: 0', 'base.train.logEvery: 0 is not allowed; expected an integer >= 1'],
  ['momentum: 0.9', `base.train.momentum: unknown key; allowed: ${ALLOWED}`],
  // The seed is the experiment's `seeds`, never a train field.
  ['seed: 3', `base.train.seed: unknown key; allowed: ${ALLOWED}`],
  ['batchSize: 18', 'train.perClass (default): 4 does not divide train.batchSize 18; expected a divisor of 18 (B/P classes per batch)'],
];

describe('a bad train configuration through the library API', () => {
  it.each(CASES)('train: { %s } is one UserError line naming the file and key path', async (train, message) => {
    const file = withTrain(`bad-${train.replace(/\W+/g, '-')}`, train);
    const label = `${file}: ${message}`;
    await expect(loadExperiment(file)).rejects.toThrow(UserError);
    await expect(loadExperiment(file)).rejects.toThrow(new UserError(label));
    expect(label).not.toContain('\n');
  });

  it('runExperiment stops with the same line before training or writing anything', async () => {
    const file = withTrain('bad-run', 'lr: 0');
    const results = join(dir, 'results');
    await expect(runExperiment(file, { resultsDir: results, progress: 'none' })).rejects.toThrow(
      new UserError(`${file}: base.train.lr: 0 is not allowed; expected a number > 0`),
    );
    const set = writeYaml(dir, 'ok', 'base:\n  dataset: { name: synthetic }\n  loss: { name: smooth-ap }\n');
    await expect(runExperiment(set, { resultsDir: results, progress: 'none', set: { 'train.batchSize': '1' } })).rejects.toThrow(
      new UserError('--set train.batchSize: "1" is not allowed; expected an integer >= 2'),
    );
    expect(existsSync(join(results, 'bad-run'))).toBe(false);
    expect(existsSync(join(results, 'ok'))).toBe(false);
  });

  it('the CLI prints the same line after "bench: " and exits 2', () => {
    for (const [train, message] of [CASES[0]!, CASES[8]!, CASES[10]!, CASES[12]!]) {
      const file = withTrain(`cli-${train.replace(/\W+/g, '-')}`, train);
      const r = spawnSync(process.execPath, [CLI, 'run', file, '--plan'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`bench: ${file}: ${message}\n`);
    }
  });

  it('command-line strings in set are read as their fields types', async () => {
    const file = withTrain('coerce', 'model: mlp');
    const { cells } = await loadExperiment(file, {
      set: { 'train.lr': '0.01', 'train.batchSize': '64', 'train.model': 'linear', 'train.withReplacement': 'true' },
    });
    expect(cells[0]!.config.train).toMatchObject({ lr: 0.01, batchSize: 64, model: 'linear', withReplacement: true });
  });
});
