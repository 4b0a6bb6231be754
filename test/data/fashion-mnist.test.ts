import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/core/params.js';
import { FASHION_MNIST_DIR, fashionMnist } from '../../src/data/fashion-mnist.js';
import { expectUserError, tempDir } from './helpers.js';

const params = (given: Record<string, unknown> = {}) => resolveParams(fashionMnist.params, given, 'dataset fashion-mnist');

function idx(code: number, shape: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head.set([0, 0, code, shape.length]);
  shape.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, data]);
}

/** Image i of a file: every pixel (i*7 + p) mod 256, so each row is identifiable. */
function pixel(fileSeed: number, i: number, p: number): number {
  return (fileSeed + i * 7 + p) % 256;
}

/** Writes the four Fashion-MNIST files: `perClass[c]` images of class c, classes interleaved. */
function writeSet(dir: string, gz: boolean, trainPerClass: number, testPerClass: number): { train: number[]; test: number[] } {
  mkdirSync(dir, { recursive: true });
  const labelsOf = (per: number) => Array.from({ length: per * 10 }, (_, i) => i % 10);
  const out = { train: labelsOf(trainPerClass), test: labelsOf(testPerClass) };
  for (const [prefix, labels, seed] of [
    ['train', out.train, 0],
    ['t10k', out.test, 100],
  ] as const) {
    const px = new Uint8Array(labels.length * 784).map((_, k) => pixel(seed, Math.floor(k / 784), k % 784));
    const files: [string, Buffer][] = [
      [`${prefix}-images-idx3-ubyte`, idx(0x08, [labels.length, 28, 28], px)],
      [`${prefix}-labels-idx1-ubyte`, idx(0x08, [labels.length], Uint8Array.from(labels))],
    ];
    for (const [name, bytes] of files) writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  }
  return out;
}

describe('fashion-mnist dataset (files written by the test)', () => {
  it('closed-set (default) is the official split: train file → train, t10k file → test, pixels / 255', async () => {
    const dir = tempDir('fmnist-');
    const written = writeSet(dir, true, 3, 2);
    const ds = await fashionMnist.load(params(), { seed: 0, dataDir: dir });
    expect(ds.splitKind).toBe('closed-set');
    expect([ds.train.n, ds.test.n, ds.train.dim]).toEqual([30, 20, 784]);
    expect(Array.from(ds.train.labels)).toEqual(written.train);
    expect(Array.from(ds.test.labels)).toEqual(written.test);
    expect(ds.test.imageShape).toEqual([28, 28, 1]);
    for (const [i, p] of [
      [0, 0],
      [13, 500],
      [29, 783],
    ]) {
      expect(ds.train.x[i! * 784 + p!]).toBe(Math.fround(pixel(0, i!, p!) / 255));
    }
    expect(ds.test.x[19 * 784 + 10]).toBe(Math.fround(pixel(100, 19, 10) / 255));
  });

  it('class-disjoint pools both files: classes 0–4 train, 5–9 test', async () => {
    const dir = tempDir('fmnist-');
    writeSet(dir, true, 3, 2);
    const ds = await fashionMnist.load(params({ split: 'class-disjoint' }), { seed: 0, dataDir: dir });
    expect(ds.splitKind).toBe('class-disjoint');
    expect([...new Set(ds.train.labels)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect([...new Set(ds.test.labels)].sort()).toEqual([5, 6, 7, 8, 9]);
    expect([ds.train.n, ds.test.n]).toEqual([25, 25]);
  });

  it('perClassLimit, uncompressed files and a fashion-mnist subfolder of --data-dir', async () => {
    const root = tempDir('fmnist-');
    writeSet(join(root, 'fashion-mnist'), false, 4, 3);
    const ds = await fashionMnist.load(params({ perClassLimit: 2 }), { seed: 0, dataDir: root });
    expect([ds.train.n, ds.test.n]).toEqual([20, 20]);
    // Classes are interleaved (i mod 10), so the first two of each class are rows 0–19.
    expect(Array.from(ds.train.labels)).toEqual(Array.from({ length: 20 }, (_, i) => i % 10));
    expect(ds.train.x[19 * 784]).toBe(Math.fround(pixel(0, 19, 0) / 255));
  });

  it('missing files: one line saying how to install them', async () => {
    const dir = tempDir('fmnist-empty-');
    await expectUserError(
      fashionMnist.load(params(), { seed: 0, dataDir: dir }),
      'train-images-idx3-ubyte.gz not found',
      'apt-get install dataset-fashion-mnist',
      '--data-dir',
    );
  });

  it('files of the wrong shape or with mismatched counts', async () => {
    const dir = tempDir('fmnist-bad-');
    writeSet(dir, true, 1, 1);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx(0x08, [9], new Uint8Array(9))));
    await expectUserError(fashionMnist.load(params(), { seed: 0, dataDir: dir }), '9 labels for the 10 images');
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx(0x08, [10, 28, 27], new Uint8Array(10 * 28 * 27))));
    await expectUserError(fashionMnist.load(params(), { seed: 0, dataDir: dir }), 'expected unsigned bytes of shape [n, 28, 28]', '[10, 28, 27]');
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), Buffer.from('not gzip, not idx'));
    await expectUserError(fashionMnist.load(params(), { seed: 0, dataDir: dir }), 'train-images-idx3-ubyte.gz: not a valid IDX file');
  });
});

const systemCopy = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
describe(`fashion-mnist dataset (system copy in ${FASHION_MNIST_DIR}: ${systemCopy ? 'present' : 'ABSENT'})`, () => {
  if (systemCopy) {
    it('loads the installed copy: 60,000 train and 10,000 test images, 6,000 / 1,000 per class', async () => {
      const ds = await fashionMnist.load(params(), { seed: 0 });
      const count = (l: Int32Array) => Array.from({ length: 10 }, (_, c) => l.filter((v) => v === c).length);
      expect(count(ds.train.labels)).toEqual(new Array(10).fill(6000));
      expect(count(ds.test.labels)).toEqual(new Array(10).fill(1000));
      let lo = Infinity;
      let hi = -Infinity;
      const x = ds.train.x;
      for (let i = 0; i < x.length; i++) {
        if (x[i]! < lo) lo = x[i]!;
        if (x[i]! > hi) hi = x[i]!;
      }
      expect([lo, hi]).toEqual([0, 1]);
    });
  } else {
    it('ABSENT: the installed copy was not checked; loading it gives the install hint instead', async () => {
      console.warn(`fashion-mnist: ${FASHION_MNIST_DIR} is absent; the real dataset was not loaded (apt-get install dataset-fashion-mnist)`);
      await expectUserError(fashionMnist.load(params(), { seed: 0 }), 'apt-get install dataset-fashion-mnist');
    });
  }
});
