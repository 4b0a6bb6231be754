/**
 * Every experiment file and every bench command shown in README.md, run here so that the docs
 * cannot drift from the tool. Commands that would train for minutes are run as `bench run --plan`
 * (loads and validates every cell, runs nothing); cluster commands with --dry-run.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/experiments/load.js';
import { createLossRegistry } from '../src/losses/index.js';
import { tempDir } from './experiments/helpers.js';

const CLI = resolve('dist/cli/main.js');
const readme = readFileSync('README.md', 'utf8');

function blocks(lang: string): string[] {
  return [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

/** `npx bench …` / `npx rankbench …` lines of the sh blocks, comments removed, as argv. */
function commands(): string[][] {
  return blocks('sh')
    .flatMap((b) => b.split('\n'))
    .map((l) =>
      l
        .replace(/\s+#.*$/, '')
        .replace(/^npm ci && /, '')
        .trim(),
    )
    .filter((l) => /^npx (bench|rankbench) /.test(l))
    .map((l) => l.split(/\s+/).slice(2));
}

/**
 * Whole experiment files, and fragments (a key of `base`, such as an `eval:` line) placed into a
 * minimal experiment so that they are validated just the same.
 */
const MINIMAL_BASE = 'base:\n  dataset: { name: synthetic }\n  loss: { name: smooth-ap }\n';
const yamls = blocks('yaml').map((text) => {
  if (/^base:/m.test(text)) return text;
  // A key of `base` (eval:, train:) goes inside it; a top-level key (claims:, tune:) beside it.
  if (/^(eval|train|loss|dataset|estimator):/.test(text)) return `${MINIMAL_BASE}${text.replace(/^/gm, '  ')}`;
  // Claims name swept parameters: a sweep over τ and the loss for them to refer to.
  const sweep =
    'sweep:\n  list:\n    - { loss.name: smooth-ap, loss.params.tau: 0.1 }\n    - { loss.name: smooth-ap, loss.params.tau: 0.01 }\n    - { loss.name: triplet }\n';
  return `${MINIMAL_BASE}${sweep}${text}`;
});

/** A float32 .npy (version 1.0) of an n×d matrix. */
function npy(rows: number[][]): Buffer {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${rows[0]!.length}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const head = Buffer.from(`\x93NUMPY\x01\x00`, 'latin1');
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length + pad + 1);
  return Buffer.concat([head, len, Buffer.from(header + ' '.repeat(pad) + '\n', 'latin1'), Buffer.from(new Float32Array(rows.flat()).buffer)]);
}

describe('README experiment files', () => {
  it('are at least the two examples, and each loads and validates', () => {
    expect(yamls.length).toBeGreaterThanOrEqual(2);
    const dir = tempDir();
    yamls.forEach((text, i) => {
      const file = join(dir, `readme-${i}.yaml`);
      writeFileSync(file, text);
      expect(loadExperiment(file, { registry: createLossRegistry() }).cells.length).toBeGreaterThan(0);
    });
  });

  it('the first has the number of cells the text says', () => {
    const stated = Number(/= (\d+)\. Layers apply/.exec(readme)![1]);
    const dir = tempDir();
    writeFileSync(join(dir, 'first.yaml'), yamls[0]!);
    expect(loadExperiment(join(dir, 'first.yaml'), { registry: createLossRegistry() }).cells).toHaveLength(stated);
  });
});

describe('README commands', () => {
  // The files the commands name, made here: a user's embeddings, a batch, an experiment, the plugin.
  const cwd = tempDir();
  mkdirSync(join(cwd, 'examples'));
  copyFileSync('examples/contrastive-loss.js', join(cwd, 'examples', 'contrastive-loss.js'));
  copyFileSync('examples/contrastive-loss.js', join(cwd, 'my-loss.js'));
  const rows = Array.from({ length: 12 }, (_, i) => Array.from({ length: 4 }, (_, j) => Math.cos(i * 1.7 + j * (1 + (i % 3)))));
  const labels = rows.map((_, i) => i % 3);
  writeFileSync(join(cwd, 'emb.json'), JSON.stringify({ embeddings: rows, labels }));
  writeFileSync(join(cwd, 'batch.json'), JSON.stringify({ embeddings: rows, labels }));
  writeFileSync(join(cwd, 'my-sweep.yaml'), yamls[1]!);
  writeFileSync(join(cwd, 'q.npy'), npy(rows.slice(0, 6)));
  writeFileSync(join(cwd, 'q.txt'), labels.slice(0, 6).join('\n') + '\n');
  writeFileSync(join(cwd, 'g.csv'), ['f0,f1,f2,f3,label', ...rows.slice(6).map((r, i) => `${r.join(',')},${labels[6 + i]}`)].join('\n') + '\n');
  writeFileSync(join(cwd, 'my-experiment.yaml'), yamls[1]!.replace(/sweep:[\s\S]*$/, '').replace('loss: { name: smooth-ap }', 'loss: { name: contrastive }'));

  const cases = commands();
  it('are found', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  for (const argv of cases) {
    const word = argv.find((a, i) => !a.startsWith('-') && argv[i - 1] !== '--plugin' && argv[i - 1] !== '--backend')!;
    let args = [...argv];
    let how = 'runs';
    if (word === 'run') [args, how] = [[...argv, '--plan'], 'validates every cell (--plan)'];
    else if (word === 'slurm' || word === 'k8s') [args, how] = [argv.includes('--dry-run') ? argv : [...argv, '--dry-run'], 'writes nothing (--dry-run)'];
    else if (word === 'perf' || word === 'check' || word === 'report') [args, how] = [[word, '--help'], 'exists (--help; running it is minutes)'];
    it(`${how}: bench ${argv.join(' ')}`, () => {
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' } });
      expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    });
  }
});
