import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * rankbench as a user's project gets it: the package is packed (`npm pack`, from the built
 * dist/) and its tarball installed into a scratch project in a temporary folder. Offline and
 * fast: the scratch project's node_modules holds links to this checkout's copies of
 * rankbench's dependencies, so npm finds every dependency already satisfied, and only
 * extracts the tarball.
 */
const repo = process.cwd();
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

const run = (cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: '1', npm_config_update_notifier: 'false' } });
const ok = (r: SpawnSyncReturns<string>): string => {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
};

// 12 items of 3 classes in 3-D, unit rows from a fixed recipe (no randomness to reproduce).
const BATCH = (() => {
  const embeddings: number[][] = [];
  const labels: string[] = [];
  for (let i = 0; i < 12; i++) {
    const c = i % 3;
    const v = [Math.cos(c * 2.1 + i * 0.37), Math.sin(c * 2.1 + i * 0.37), 0.3 * Math.cos(i * 1.3)];
    const norm = Math.hypot(...v);
    embeddings.push(v.map((t) => t / norm));
    labels.push(`class-${c}`);
  }
  return { embeddings, labels };
})();

// The plugin author's view: strict TypeScript, parameters typed from their specs.
const SCRIPT = `
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { evaluate, loadExperiment, runExperiment, smoothAp, Rng, type EvaluateResult } from 'rankbench';

tf.env().set('PROD', true);
const batch = JSON.parse(readFileSync('batch.json', 'utf8')) as { embeddings: number[][]; labels: string[] };
const metrics: EvaluateResult = await evaluate(batch.embeddings, batch.labels);
const flat = await evaluate({ data: Float64Array.from(batch.embeddings.flat()), shape: [batch.embeddings.length, 3] }, batch.labels);
const ids = Int32Array.from(batch.labels, (l) => Number(l.slice(-1)));
const out = smoothAp.compute(tf.tensor2d(batch.embeddings), ids, { tau: 0.01, includeQuery: true }, { rng: new Rng(0), tf });
const tau: number = smoothAp.params[0].default;
// A shipped experiment, found in the installed package; and a small one of the user's own.
const { cells } = await loadExperiment('ablation-tau', { seeds: [0] });
const run = await runExperiment('tiny.yaml', { resultsDir: 'results-api', progress: 'none', plugins: ['./plugin.js'] });
console.log(JSON.stringify({ metrics, flat, smoothAp: out.loss.dataSync()[0], tau, cells: cells.length, results: run.results.rows }));
`;

// A small experiment trained with the TS plugin: the library and the CLI must agree on it.
const TINY = `
description: the TS plugin, trained
base:
  dataset: { name: synthetic, params: { classes: 20, perClass: 6, dim: 8 } }
  train: { model: mlp, embeddingDim: 8, hidden: 16, lr: 0.003, iterations: 20, batchSize: 12, perClass: 3 }
  loss: { name: contrastive-ts, params: { margin: 0.3 } }
  eval: { k: [1, 2] }
seeds: [0]
`;

/** Each file misuses one typed parameter; each must be a type error at the line marked. */
const BAD: Record<string, string> = {
  'bad-use.ts': `import { defineLoss } from 'rankbench';
export default defineLoss({
  name: 'bad-use', description: 'x',
  params: [{ name: 'margin', type: 'number', default: 0.5, doc: 'x' }],
  compute(embeddings, labels, params, { tf }) {
    const margin: string = params.margin; // ERROR
    return { loss: tf.scalar(margin.length) };
  },
});
`,
  'bad-default.ts': `import { defineLoss } from 'rankbench';
export default defineLoss({
  name: 'bad-default', description: 'x',
  params: [{ name: 'margin', type: 'number', default: '0.5', doc: 'x' }], // ERROR
  compute(embeddings, labels, params, { tf }) {
    return { loss: tf.scalar(0) };
  },
});
`,
  'bad-enum.ts': `import { defineLoss } from 'rankbench';
export default defineLoss({
  name: 'bad-enum', description: 'x',
  params: [{ name: 'pairs', type: 'enum', values: ['all', 'hardest'], default: 'all', doc: 'x' }],
  compute(embeddings, labels, params, { tf }) {
    return { loss: tf.scalar(params.pairs === 'hardst' ? 1 : 0) }; // ERROR
  },
});
`,
  'bad-name.ts': `import { defineLoss } from 'rankbench';
export default defineLoss({
  name: 'bad-name', description: 'x',
  params: [{ name: 'margin', type: 'number', default: 0.5, doc: 'x' }],
  compute(embeddings, labels, params, { tf }) {
    return { loss: tf.scalar(params.marign) }; // ERROR
  },
});
`,
};

const tsconfig = (files: string[], noEmit: boolean) =>
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit,
      skipLibCheck: true,
      // @types/node for the script's readFileSync and console, from this checkout.
      typeRoots: [join(repo, 'node_modules', '@types')],
      types: ['node'],
    },
    files,
  });

describe('the packed package, installed in another project', () => {
  const root = mkdtempSync(join(tmpdir(), 'rankbench-pack-'));
  const proj = join(root, 'proj');
  let tarball = '';
  let packed: string[] = [];

  beforeAll(() => {
    const [info] = JSON.parse(ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], repo))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = join(root, info!.filename);
    packed = info!.files.map((f) => f.path);
    mkdirSync(join(proj, 'node_modules'), { recursive: true });
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
    for (const dep of Object.keys(pkg.dependencies)) {
      const link = join(proj, 'node_modules', dep);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(realpathSync(join(repo, 'node_modules', dep)), link);
    }
    ok(run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], proj));
    writeFileSync(join(proj, 'batch.json'), JSON.stringify(BATCH));
    writeFileSync(join(proj, 'tiny.yaml'), TINY);
    copyFileSync(join(repo, 'examples', 'contrastive-loss.ts'), join(proj, 'plugin.ts'));
    writeFileSync(join(proj, 'script.ts'), SCRIPT);
    for (const [name, text] of Object.entries(BAD)) writeFileSync(join(proj, name), text);
    writeFileSync(join(proj, 'tsconfig.json'), tsconfig(['plugin.ts', 'script.ts'], false));
    writeFileSync(join(proj, 'tsconfig.bad.json'), tsconfig(Object.keys(BAD), true));
  }, 180_000);

  // Removes the links in node_modules, never what they point to.
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('ships the build, its declarations, the experiments and examples, and no sources or tests', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'experiments/ablation-tau.yaml', 'examples/contrastive-loss.ts', 'package.json'])
      expect(packed).toContain(f);
    expect(packed.filter((f) => /^(src|test|results|reports)\//.test(f) || f.endsWith('.map'))).toEqual([]);
  });

  it('a TS plugin and a script that calls evaluate type-check in strict mode and compile', () => {
    ok(run(process.execPath, [tsc, '-p', 'tsconfig.json'], proj));
  });

  it('a wrong parameter type, default, enum value or name fails to type-check, at its line', () => {
    const r = run(process.execPath, [tsc, '-p', 'tsconfig.bad.json'], proj);
    expect(r.status).not.toBe(0);
    for (const [name, text] of Object.entries(BAD)) {
      const line = text.split('\n').findIndex((l) => l.includes('// ERROR')) + 1;
      expect(r.stdout, r.stdout).toMatch(new RegExp(`^${name.replace('.', '\\.')}\\(${line},\\d+\\): error TS\\d+`, 'm'));
    }
    // Nothing else is wrong in them: one error per file.
    expect(r.stdout.match(/error TS/g)).toHaveLength(Object.keys(BAD).length);
  });

  it('npx rankbench runs the compiled plugin with the numbers bench loss gives the JS example', () => {
    const bin = join(proj, 'node_modules', '.bin', 'rankbench');
    const mine = JSON.parse(ok(run(bin, ['--plugin', './plugin.js', 'loss', 'contrastive-ts', '--input', 'batch.json'], proj))) as {
      loss: number;
      grad: number[][];
    };
    const here = JSON.parse(
      ok(
        run(
          process.execPath,
          ['dist/cli/main.js', '--plugin', 'examples/contrastive-loss.js', 'loss', 'contrastive', '--input', join(proj, 'batch.json')],
          repo,
        ),
      ),
    ) as { loss: number; grad: number[][] };
    expect(mine.loss).toBe(here.loss);
    expect(mine.grad).toEqual(here.grad);
    // Messages speak of the command the user typed.
    const wrong = run(bin, ['--plugin', './plugin.js', 'loss', 'contrastive', '--input', 'batch.json'], proj);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/^rankbench: unknown loss "contrastive"; available: .*contrastive-ts/);
    // And the value itself, from the definition (float64 here, float32 in tfjs).
    const { embeddings: x, labels } = BATCH;
    let pull = 0,
      nPos = 0,
      push = 0,
      nNeg = 0;
    for (let i = 0; i < x.length; i++) {
      for (let j = 0; j < x.length; j++) {
        if (i === j) continue;
        const s = x[i]!.reduce((acc, v, t) => acc + v * x[j]![t]!, 0);
        if (labels[i] === labels[j]) {
          pull += 1 - s;
          nPos++;
        } else {
          push += Math.max(0, s - 0.5);
          nNeg++;
        }
      }
    }
    expect(mine.loss).toBeCloseTo(pull / nPos + push / nNeg, 5);
  });

  it("the script gets what bench metrics prints, the Smooth-AP value bench loss gives, and bench run's results", () => {
    const got = JSON.parse(ok(run(process.execPath, ['script.js'], proj))) as {
      metrics: unknown;
      flat: unknown;
      smoothAp: number;
      tau: number;
      cells: number;
      results: Array<Record<string, string>>;
    };
    const bin = join(proj, 'node_modules', '.bin', 'rankbench');
    const metrics = JSON.parse(ok(run(bin, ['metrics', '--input', 'batch.json'], proj)));
    expect(got.metrics).toEqual(metrics);
    expect(got.flat).toEqual(metrics);
    const loss = JSON.parse(ok(run(bin, ['loss', 'smooth-ap', '--input', 'batch.json'], proj))) as { loss: number };
    // bench loss runs the float64 kernel on the file's values; the script went through a float32 tensor.
    expect(got.smoothAp).toBeCloseTo(loss.loss, 5);
    expect(got.tau).toBe(0.01);
    // ablation-tau: 6 values of tau × 2 datasets, one seed.
    expect(got.cells).toBe(12);
    ok(run(bin, ['--plugin', './plugin.js', 'run', 'tiny.yaml', '--results-dir', 'results-cli', '--no-report'], proj));
    const csv = readFileSync(join(proj, 'results-cli', 'tiny', 'results.csv'), 'utf8')
      .trim()
      .split('\n');
    const header = csv[0]!.split(',');
    const row = csv[1]!.split(',');
    expect(got.results).toHaveLength(1);
    for (const col of ['loss', 'map', 'mapAtR', 'untrainedMap']) expect(got.results[0]![col], col).toBe(row[header.indexOf(col)]);
    expect(got.results[0]!.loss).toBe('contrastive-ts');
  });
});
