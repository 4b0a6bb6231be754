import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Params } from '../core/params.js';
import { minPerClassParam, splitParam, trainFractionParam } from './common.js';
import { readIdxFile } from './idx.js';
import { classDisjointSplit } from './split.js';
import type { DatasetPlugin, DatasetLoadOptions, Split } from './types.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/**
 * `--data-dir` may point at the folder holding the four files or at a folder with a
 * `fashion-mnist` subfolder (so one --data-dir can serve several datasets).
 */
export function fashionMnistDir(dataDir?: string): string {
  if (!dataDir) return FASHION_MNIST_DIR;
  const sub = join(dataDir, 'fashion-mnist');
  return existsSync(sub) && statSync(sub).isDirectory() ? sub : dataDir;
}

function findFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new UserError(
    `dataset fashion-mnist: ${join(dir, base)}.gz not found; install it with "apt-get install dataset-fashion-mnist" or pass --data-dir <folder with the four IDX files>`,
  );
}

/** One IDX image/label file pair as a split, keeping at most `limit` images per class (0: all). */
async function readPair(dir: string, images: string, labels: string, limit: number): Promise<Split> {
  const imgPath = findFile(dir, images);
  const lblPath = findFile(dir, labels);
  const img = await readIdxFile(imgPath);
  const lbl = await readIdxFile(lblPath);
  if (img.dtype !== 'ubyte' || img.shape.length !== 3 || img.shape[1] !== SIDE || img.shape[2] !== SIDE) {
    throw new UserError(`${imgPath}: expected unsigned bytes of shape [n, 28, 28]; found ${img.dtype} [${img.shape.join(', ')}]`);
  }
  if (lbl.dtype !== 'ubyte' || lbl.shape.length !== 1) {
    throw new UserError(`${lblPath}: expected unsigned bytes of shape [n]; found ${lbl.dtype} [${lbl.shape.join(', ')}]`);
  }
  if (lbl.shape[0] !== img.shape[0]) {
    throw new UserError(`${lblPath}: ${lbl.shape[0]} labels for the ${img.shape[0]} images of ${imgPath}; expected equal counts`);
  }
  const total = img.shape[0]!;
  const taken = new Int32Array(10);
  const rows: number[] = [];
  for (let i = 0; i < total; i++) {
    const c = lbl.data[i]!;
    if (c > 9) throw new UserError(`${lblPath}: label ${c} at index ${i} is not a class 0..9`);
    if (limit > 0 && taken[c]! >= limit) continue;
    taken[c]!++;
    rows.push(i);
  }
  const x = new Float32Array(rows.length * PIXELS);
  const labelsOut = new Int32Array(rows.length);
  rows.forEach((r, k) => {
    for (let p = 0; p < PIXELS; p++) x[k * PIXELS + p] = img.data[r * PIXELS + p]! / 255;
    labelsOut[k] = lbl.data[r]!;
  });
  return { x, n: rows.length, dim: PIXELS, labels: labelsOut, imageShape: [SIDE, SIDE, 1] };
}

function concat(a: Split, b: Split): Split {
  const x = new Float32Array(a.x.length + b.x.length);
  x.set(a.x);
  x.set(b.x, a.x.length);
  const labels = new Int32Array(a.n + b.n);
  labels.set(a.labels);
  labels.set(b.labels, a.n);
  return { x, n: a.n + b.n, dim: a.dim, labels, imageShape: [SIDE, SIDE, 1] };
}

export const fashionMnist: DatasetPlugin = {
  name: 'fashion-mnist',
  description: `Zalando's Fashion-MNIST (28×28, 10 classes) from gzipped IDX files in ${FASHION_MNIST_DIR} or --data-dir`,
  params: [
    {
      name: 'perClassLimit',
      type: 'integer',
      default: 0,
      min: 0,
      doc: 'keep at most this many images of each class from each file (the first ones); 0 keeps all',
    },
    // No seed parameter: both splits are fixed (official files; classes in label order).
    // closed-set is the official split (60,000 train / 10,000 test files); class-disjoint pools
    // both files and leaves only 5 classes per side, so closed-set is the default.
    splitParam('closed-set'),
    { ...trainFractionParam, doc: 'class-disjoint only: share of the classes that goes to train (closed-set uses the official files)' },
    minPerClassParam,
  ],
  inputFiles(_params: Params, opts: DatasetLoadOptions) {
    const dir = fashionMnistDir(opts.dataDir);
    // A missing file is left to load() to report (with the install hint): listed, not found.
    return Object.values(FILES).map((base) => {
      const gz = join(dir, `${base}.gz`);
      return existsSync(gz) || !existsSync(join(dir, base)) ? gz : join(dir, base);
    });
  },
  async load(params: Params, opts: DatasetLoadOptions) {
    const dir = fashionMnistDir(opts.dataDir);
    const limit = params['perClassLimit'] as number;
    const train = await readPair(dir, FILES.trainImages, FILES.trainLabels, limit);
    const test = await readPair(dir, FILES.testImages, FILES.testLabels, limit);
    if (params['split'] === 'closed-set') return { name: 'fashion-mnist', train, test, splitKind: 'closed-set' };
    const split = classDisjointSplit(concat(train, test), params['trainFraction'] as number, 'dataset fashion-mnist');
    return { name: 'fashion-mnist', ...split, splitKind: 'class-disjoint' };
  },
};
