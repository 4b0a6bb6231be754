import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/core/params.js';
import { encodeLabels } from '../../src/data/features-io.js';
import { features } from '../../src/data/features.js';
import type { LoadedDataset } from '../../src/data/types.js';
import { expectUserError, tempDir } from './helpers.js';

const params = (given: Record<string, unknown>) => resolveParams(features.params, given, 'dataset features');

/** .npy v1 bytes per the format spec (header padded to a multiple of 64, ending in "\n"). */
function npy(descr: string, shape: number[], write: (v: DataView) => void, bytes: number): Buffer {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + header.length + bytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.write(header, 10, 'latin1');
  write(new DataView(out.buffer, out.byteOffset + 10 + header.length, bytes));
  return out;
}

function npyF4(rows: number[][]): Buffer {
  const d = rows[0]!.length;
  return npy('<f4', [rows.length, d], (v) => rows.flat().forEach((x, i) => v.setFloat32(4 * i, x, true)), 4 * rows.length * d);
}

function npyI8(values: number[]): Buffer {
  return npy('<i8', [values.length], (v) => values.forEach((x, i) => v.setBigInt64(8 * i, BigInt(x), true)), 8 * values.length);
}

/** 12 rows, 3 features; row i = [i, 2i, -i]; label ids 10, 20, 30, 40, three rows each. */
const ROWS = Array.from({ length: 12 }, (_, i) => [i, 2 * i, -i]);
const LABELS = ROWS.map((_, i) => [10, 20, 30, 40][i % 4]!);

function dir(): string {
  return tempDir('features-');
}

/** Feature rows of a split, as the first feature (= original row index). */
function rowIds(ds: LoadedDataset, side: 'train' | 'test' | 'query' | 'gallery'): number[] {
  const s = ds[side]!;
  return Array.from({ length: s.n }, (_, i) => s.x[i * s.dim]!);
}

describe('features dataset', () => {
  it('.npy features + .npy int64 labels, class-disjoint by default in ascending label order', async () => {
    const d = dir();
    writeFileSync(join(d, 'x.npy'), npyF4(ROWS));
    writeFileSync(join(d, 'y.npy'), npyI8(LABELS));
    const ds = await features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'y.npy') }), { seed: 0 });
    expect(ds.splitKind).toBe('class-disjoint');
    expect(ds.train.dim).toBe(3);
    // Labels 10 and 20 (the first half) train, 30 and 40 test.
    expect(rowIds(ds, 'train')).toEqual([0, 1, 4, 5, 8, 9]);
    expect(rowIds(ds, 'test')).toEqual([2, 3, 6, 7, 10, 11]);
    expect(Array.from(ds.train.x.subarray(3, 6))).toEqual([1, 2, -1]);
    // Dense ids in ascending order of the original labels.
    expect(Array.from(ds.train.labels)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('.npy features + text labels (one per line) and relative paths under --data-dir', async () => {
    const d = dir();
    writeFileSync(join(d, 'x.npy'), npyF4(ROWS));
    const names = ROWS.map((_, i) => ['dog', 'cat', 'emu', 'ant'][i % 4]!);
    writeFileSync(join(d, 'labels.txt'), names.join('\n') + '\n');
    const ds = await features.load(params({ path: 'x.npy', labels: 'labels.txt', split: 'closed-set' }), { seed: 0, dataDir: d });
    expect(ds.splitKind).toBe('closed-set');
    // String labels sort as strings: ant 0, cat 1, dog 2, emu 3.
    const want = { dog: 2, cat: 1, emu: 3, ant: 0 } as Record<string, number>;
    for (const side of ['train', 'test'] as const) {
      rowIds(ds, side).forEach((id, k) => expect(ds[side].labels[k]).toBe(want[names[id]!]));
      expect(new Set(ds[side].labels).size).toBe(4);
    }
    const ids = [...rowIds(ds, 'train'), ...rowIds(ds, 'test')].sort((a, b) => a - b);
    expect(ids).toEqual(ROWS.map((_, i) => i));
  });

  it('.npy features + labels CSV with a header, a label column and a split column', async () => {
    const d = dir();
    writeFileSync(join(d, 'x.npy'), npyF4(ROWS));
    const csv = ['id,class,part', ...ROWS.map((_, i) => `${i},${LABELS[i]},${i < 8 ? 'train' : 'TEST'}`)].join('\n');
    writeFileSync(join(d, 'meta.csv'), csv);
    const ds = await features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'meta.csv'), labelColumn: 'class', splitColumn: 'part' }), { seed: 0 });
    expect(rowIds(ds, 'train')).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rowIds(ds, 'test')).toEqual([8, 9, 10, 11]);
    expect(ds.splitKind).toBe('closed-set'); // every label appears on both sides
  });

  it('one CSV with a label column; a split file that makes it class-disjoint', async () => {
    const d = dir();
    const csv = ['a,b,label,c', ...ROWS.map((r, i) => `${r[0]},${r[1]},"L${LABELS[i]}",${r[2]}`)].join('\r\n');
    writeFileSync(join(d, 'all.csv'), csv);
    writeFileSync(join(d, 'split.txt'), ['split', ...LABELS.map((l) => (l <= 20 ? 'train' : 'test'))].join('\n'));
    const ds = await features.load(params({ path: join(d, 'all.csv'), splitFile: join(d, 'split.txt') }), { seed: 0 });
    expect(ds.train.dim).toBe(3);
    expect(Array.from(ds.test.x.subarray(0, 3))).toEqual([2, 4, -2]); // columns a, b, c of row 2
    expect(rowIds(ds, 'train')).toEqual([0, 1, 4, 5, 8, 9]);
    expect(ds.splitKind).toBe('class-disjoint');
  });

  it('CSV with a split column, and numeric label strings sorted numerically', async () => {
    const d = dir();
    const labels = ROWS.map((_, i) => [9, 10, 100, 2][i % 4]!);
    const csv = ['f0,f1,f2,label,fold', ...ROWS.map((r, i) => `${r.join(',')},${labels[i]},${i % 3 === 0 ? 'test' : 'train'}`)].join('\n');
    writeFileSync(join(d, 'all.csv'), csv);
    const ds = await features.load(params({ path: join(d, 'all.csv'), splitColumn: 'fold' }), { seed: 0 });
    expect(rowIds(ds, 'test')).toEqual([0, 3, 6, 9]);
    expect(ds.train.dim).toBe(3);
    // 2 → 0, 9 → 1, 10 → 2, 100 → 3.
    expect(Array.from(ds.test.labels)).toEqual([1, 0, 3, 2]);
  });

  it('a split file with query and gallery rows: both kept as splits, and both part of test', async () => {
    const d = dir();
    writeFileSync(join(d, 'x.npy'), npyF4(ROWS));
    writeFileSync(join(d, 'y.npy'), npyI8(LABELS));
    // Rows 0-5 train, then query / gallery alternating, row 11 plain test.
    const parts = ROWS.map((_, i) => (i < 6 ? 'train' : i === 11 ? 'test' : i % 2 ? 'Gallery' : 'query'));
    writeFileSync(join(d, 'split.txt'), parts.join('\n'));
    const ds = await features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'y.npy'), splitFile: join(d, 'split.txt') }), { seed: 0 });
    expect(rowIds(ds, 'train')).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rowIds(ds, 'test')).toEqual([6, 7, 8, 9, 10, 11]);
    expect(rowIds(ds, 'query')).toEqual([6, 8, 10]);
    expect(rowIds(ds, 'gallery')).toEqual([7, 9]);
    // Labels 10 20 30 40 → ids 0..3; row 6 has label 30, row 7 label 40.
    expect(Array.from(ds.query!.labels)).toEqual([2, 0, 2]);
    expect(Array.from(ds.gallery!.labels)).toEqual([3, 1]);
  });

  it('a split without query rows has neither query nor gallery', async () => {
    const d = dir();
    writeFileSync(join(d, 'x.npy'), npyF4(ROWS));
    writeFileSync(join(d, 'y.npy'), npyI8(LABELS));
    writeFileSync(join(d, 'split.txt'), ROWS.map((_, i) => (i < 6 ? 'train' : 'test')).join('\n'));
    const ds = await features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'y.npy'), splitFile: join(d, 'split.txt') }), { seed: 0 });
    expect(ds.query).toBeUndefined();
    expect(ds.gallery).toBeUndefined();
    // Query rows without gallery rows are an error naming both counts.
    writeFileSync(join(d, 'q-only.txt'), ROWS.map((_, i) => (i < 6 ? 'train' : 'query')).join('\n'));
    await expectUserError(
      features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'y.npy'), splitFile: join(d, 'q-only.txt') }), { seed: 0 }),
      '6 rows query and 0 gallery',
    );
  });

  it('encodeLabels maps strings to dense ids in sorted order', () => {
    expect(Array.from(encodeLabels(['b', 'a', 'b', 'c']).labels)).toEqual([1, 0, 1, 2]);
    expect(Array.from(encodeLabels(['10', '9', '-1', '9']).labels)).toEqual([2, 1, 0, 1]);
    expect(Array.from(encodeLabels([7, 3, 7]).labels)).toEqual([1, 0, 1]);
  });

  describe('errors', () => {
    it('no path, unknown extension, missing labels for .npy', async () => {
      await expectUserError(features.load(params({}), { seed: 0 }), 'path: ""', '.npy', '.csv');
      await expectUserError(features.load(params({ path: 'x.parquet' }), { seed: 0 }), 'path: "x.parquet"');
      const d = dir();
      writeFileSync(join(d, 'x.npy'), npyF4(ROWS));
      await expectUserError(features.load(params({ path: join(d, 'x.npy') }), { seed: 0 }), 'labels: ""');
      await expectUserError(features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'none.txt') }), { seed: 0 }), 'none.txt', 'ENOENT');
    });

    it('label count not matching the rows', async () => {
      const d = dir();
      writeFileSync(join(d, 'x.npy'), npyF4(ROWS));
      writeFileSync(join(d, 'y.npy'), npyI8(LABELS.slice(1)));
      await expectUserError(features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'y.npy') }), { seed: 0 }), '11 labels for 12 feature rows');
    });

    it('a 1-D feature array, a non-finite feature, float labels', async () => {
      const d = dir();
      writeFileSync(
        join(d, 'v.npy'),
        npy('<f4', [3], (v) => [1, 2, 3].forEach((x, i) => v.setFloat32(4 * i, x, true)), 12),
      );
      writeFileSync(join(d, 'y.npy'), npyI8([0, 1, 0]));
      await expectUserError(features.load(params({ path: join(d, 'v.npy'), labels: join(d, 'y.npy') }), { seed: 0 }), '2-D', 'shape (3)');
      writeFileSync(
        join(d, 'nan.npy'),
        npyF4([
          [1, 2],
          [3, NaN],
          [5, 6],
        ]),
      );
      await expectUserError(features.load(params({ path: join(d, 'nan.npy'), labels: join(d, 'y.npy') }), { seed: 0 }), 'row 1 column 1 is NaN');
      writeFileSync(join(d, 'x.npy'), npyF4([[1], [2], [3]]));
      writeFileSync(
        join(d, 'yf.npy'),
        npy('<f8', [3], (v) => [0, 1.5, 0].forEach((x, i) => v.setFloat64(8 * i, x, true)), 24),
      );
      await expectUserError(features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'yf.npy') }), { seed: 0 }), 'labels at index 1 is 1.5');
    });

    it('CSV: unknown label column, non-numeric cell, bad split value', async () => {
      const d = dir();
      writeFileSync(join(d, 'a.csv'), 'f0,f1,cls\n1,2,a\n3,4,b\n');
      await expectUserError(features.load(params({ path: join(d, 'a.csv') }), { seed: 0 }), 'labelColumn: "label" is not a column', 'f0, f1, cls');
      writeFileSync(join(d, 'b.csv'), 'f0,f1,label\n1,2,a\n3,x,b\n');
      await expectUserError(features.load(params({ path: join(d, 'b.csv') }), { seed: 0 }), 'row 2 column "f1" is "x"');
      writeFileSync(join(d, 'c.csv'), 'f0,label,s\n1,a,train\n3,b,val\n');
      await expectUserError(
        features.load(params({ path: join(d, 'c.csv'), splitColumn: 's' }), { seed: 0 }),
        'row 2 is "val"',
        'expected train, test, query or gallery',
      );
    });

    it('labels text with several fields per line and no header', async () => {
      const d = dir();
      writeFileSync(join(d, 'x.npy'), npyF4([[1], [2]]));
      writeFileSync(join(d, 'y.csv'), 'a,b\nc,d\n');
      await expectUserError(features.load(params({ path: join(d, 'x.npy'), labels: join(d, 'y.csv') }), { seed: 0 }), 'line 1 has 2 fields');
    });

    it('a split file with the wrong row count, or one that leaves a side empty', async () => {
      const d = dir();
      writeFileSync(join(d, 'x.npy'), npyF4(ROWS));
      writeFileSync(join(d, 'y.npy'), npyI8(LABELS));
      writeFileSync(join(d, 's.txt'), 'train\ntest\n');
      const base = { path: join(d, 'x.npy'), labels: join(d, 'y.npy') };
      await expectUserError(features.load(params({ ...base, splitFile: join(d, 's.txt') }), { seed: 0 }), 'has 2 rows for 12 feature rows');
      writeFileSync(join(d, 'all-train.txt'), ROWS.map(() => 'train').join('\n'));
      await expectUserError(features.load(params({ ...base, splitFile: join(d, 'all-train.txt') }), { seed: 0 }), '12 rows in train and 0 in test');
    });
  });
});
