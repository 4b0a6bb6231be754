import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy, parsePyLiteral, readNpyFile } from '../../src/data/npy.js';
import { expectUserError, tempDir } from './helpers.js';

/**
 * Builds .npy bytes as the format spec describes: "\x93NUMPY", major, minor, header length
 * (uint16 LE for v1, uint32 LE for v2/v3), the dict literal padded with spaces and ending in
 * "\n" so that the data start at a multiple of 64.
 */
function npyBytes(header: string, data: Uint8Array, version: 1 | 2 | 3 = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  let text = header;
  const total = prefix + text.length + 1;
  text += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(prefix + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const len = text.length;
  if (version === 1) out.set([len & 0xff, len >> 8], 8);
  else out.set([len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, len >>> 24], 8);
  out.set(new TextEncoder().encode(text), prefix);
  out.set(data, prefix + text.length);
  return out;
}

function dict(descr: string, shape: number[], fortran = false): string {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${tuple}, }`;
}

/** Raw bytes of `values` written with a DataView setter of the given width and byte order. */
function raw(values: number[], width: number, set: (v: DataView, off: number, x: number, le: boolean) => void, le = true): Uint8Array {
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  values.forEach((x, i) => set(view, i * width, x, le));
  return out;
}
const f4 = (v: DataView, o: number, x: number, le: boolean) => v.setFloat32(o, x, le);
const f8 = (v: DataView, o: number, x: number, le: boolean) => v.setFloat64(o, x, le);
const i4 = (v: DataView, o: number, x: number, le: boolean) => v.setInt32(o, x, le);
const i8 = (v: DataView, o: number, x: number, le: boolean) => v.setBigInt64(o, BigInt(x), le);

const VALUES = [0.5, -1.25, 3, 1e-3, 2.5e6, -0, 7, 8.125, -9.5, 10, 11.75, 12];

describe('parseNpy', () => {
  it('reads a little-endian float32 3×4 array in C order', () => {
    const a = parseNpy(npyBytes(dict('<f4', [3, 4]), raw(VALUES, 4, f4)));
    expect(a.descr).toBe('<f4');
    expect(a.shape).toEqual([3, 4]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data)).toEqual(VALUES.map((v) => Math.fround(v)));
  });

  it('reads float64, big-endian float64 and version 2 and 3 headers', () => {
    const le = parseNpy(npyBytes(dict('<f8', [12]), raw(VALUES, 8, f8)));
    expect(Array.from(le.data)).toEqual(VALUES);
    const be = parseNpy(npyBytes(dict('>f8', [2, 6]), raw(VALUES, 8, f8, false)));
    expect(be.shape).toEqual([2, 6]);
    expect(Array.from(be.data)).toEqual(VALUES);
    for (const v of [2, 3] as const) {
      const a = parseNpy(npyBytes(dict('<f4', [4, 3]), raw(VALUES, 4, f4), v));
      expect(a.shape).toEqual([4, 3]);
      expect(Array.from(a.data)).toEqual(VALUES.map((x) => Math.fround(x)));
    }
  });

  it('reads integer dtypes: <i4, <i8, |u1, |b1', () => {
    const ints = [3, -1, 0, 2147483647, -2147483648];
    expect(Array.from(parseNpy(npyBytes(dict('<i4', [5]), raw(ints, 4, i4))).data)).toEqual(ints);
    const big = [1, -2, 2 ** 40, 9007199254740991];
    expect(Array.from(parseNpy(npyBytes(dict('<i8', [4]), raw(big, 8, i8))).data)).toEqual(big);
    expect(Array.from(parseNpy(npyBytes(dict('|u1', [3]), Uint8Array.from([0, 7, 255]))).data)).toEqual([0, 7, 255]);
    expect(Array.from(parseNpy(npyBytes(dict('|b1', [2]), Uint8Array.from([1, 0]))).data)).toEqual([1, 0]);
  });

  it('reads an empty array and a header written with double quotes', () => {
    const empty = parseNpy(npyBytes(dict('<f4', [0, 5]), new Uint8Array(0)));
    expect(empty.shape).toEqual([0, 5]);
    expect(empty.data.length).toBe(0);
    const dq = parseNpy(npyBytes(`{"descr": "<f8", "shape": (2,), "fortran_order": False}`, raw([1.5, 2.5], 8, f8)));
    expect(Array.from(dq.data)).toEqual([1.5, 2.5]);
  });

  it('reads a file from disk', async () => {
    const dir = tempDir('npy-');
    const file = join(dir, 'a.npy');
    writeFileSync(file, npyBytes(dict('<f4', [2, 6]), raw(VALUES, 4, f4)));
    const a = await readNpyFile(file);
    expect(a.shape).toEqual([2, 6]);
    expect(a.data[7]).toBe(Math.fround(8.125));
    await expect(readNpyFile(join(dir, 'missing.npy'))).rejects.toThrow(/cannot read .npy file \(ENOENT\)/);
  });

  describe('errors', () => {
    const good = npyBytes(dict('<f4', [3, 4]), raw(VALUES, 4, f4));
    it('wrong magic', () => {
      const bad = good.slice();
      bad[1] = 0x58;
      expectUserError(() => parseNpy(bad, 'x.npy'), 'x.npy', 'wrong magic');
      expectUserError(() => parseNpy(new TextEncoder().encode('label\n1\n2\n'), 'y.npy'), 'wrong magic');
    });
    it('unsupported version', () => {
      const bad = good.slice();
      bad[6] = 9;
      expectUserError(() => parseNpy(bad), 'version 9.0');
    });
    it('truncated header', () => {
      expectUserError(() => parseNpy(good.subarray(0, 40)), 'truncated header');
    });
    it('truncated data and trailing bytes', () => {
      expectUserError(() => parseNpy(good.subarray(0, good.length - 3)), 'truncated data', 'needs 48 bytes', 'has 45');
      const longer = new Uint8Array(good.length + 4);
      longer.set(good);
      expectUserError(() => parseNpy(longer), '4 unexpected bytes');
    });
    it('fortran order', () => {
      expectUserError(() => parseNpy(npyBytes(dict('<f4', [3, 4], true), raw(VALUES, 4, f4))), 'fortran_order');
    });
    it('unsupported dtypes: complex, strings, structured', () => {
      expectUserError(() => parseNpy(npyBytes(dict('<c8', [1]), new Uint8Array(8))), 'dtype "<c8" is not supported');
      expectUserError(() => parseNpy(npyBytes(dict('<U3', [1]), new Uint8Array(12))), 'dtype "<U3" is not supported');
      const structured = `{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }`;
      expectUserError(() => parseNpy(npyBytes(structured, new Uint8Array(4))), "'descr'", 'not a simple dtype');
    });
    it('malformed header dict', () => {
      expectUserError(() => parseNpy(npyBytes(`{'descr': '<f4', 'shape': (3, 4}`, new Uint8Array(48))), 'bad header');
      expectUserError(() => parseNpy(npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4), }`, new Uint8Array(48))), "'shape'");
      expectUserError(() => parseNpy(npyBytes(`[1, 2]`, new Uint8Array(0))), 'not a dict');
    });
  });
});

describe('parsePyLiteral', () => {
  it('parses the header subset of Python literals', () => {
    expect(parsePyLiteral(`{'a': (1, 2,), "b": [True, False, None], 'c': -3, 'd': ()}`)).toEqual({
      a: [1, 2],
      b: [true, false, null],
      c: -3,
      d: [],
    });
  });
});
