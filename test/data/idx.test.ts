import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseIdx, readIdxFile } from '../../src/data/idx.js';
import { expectUserError, tempDir } from './helpers.js';

/** IDX bytes per the MNIST page: 0, 0, dtype code, ndims, big-endian uint32 dims, big-endian data. */
function idxBytes(code: number, shape: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, code, shape.length]);
  const view = new DataView(out.buffer);
  shape.forEach((d, k) => view.setUint32(4 + 4 * k, d, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

function bigEndian(values: number[], width: number, set: (v: DataView, off: number, x: number) => void): Uint8Array {
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  values.forEach((x, i) => set(view, i * width, x));
  return out;
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A gzip member written by hand (RFC 1952 header, one RFC 1951 "stored" block, CRC-32 and
 * size trailer), so the reader is tested against the format, not only against node's gzip.
 */
function gzipStored(data: Uint8Array): Uint8Array {
  if (data.length > 0xffff) throw new Error('one stored block holds at most 65535 bytes');
  const header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
  const len = data.length;
  const block = [0x01, len & 0xff, len >> 8, ~len & 0xff, (~len >> 8) & 0xff];
  const out = new Uint8Array(header.length + block.length + len + 8);
  out.set(header);
  out.set(block, header.length);
  out.set(data, header.length + block.length);
  const view = new DataView(out.buffer);
  view.setUint32(out.length - 8, crc32(data), true);
  view.setUint32(out.length - 4, len, true);
  return out;
}

// 2 images of 3×2 pixels.
const PIXELS = Uint8Array.from([0, 1, 2, 127, 128, 255, 9, 8, 7, 6, 5, 4]);
const IMAGES = idxBytes(0x08, [2, 3, 2], PIXELS);

describe('parseIdx', () => {
  it('reads unsigned bytes with their shape', () => {
    const a = parseIdx(IMAGES);
    expect(a.dtype).toBe('ubyte');
    expect(a.shape).toEqual([2, 3, 2]);
    expect(Array.from(a.data)).toEqual(Array.from(PIXELS));
  });

  it('reads big-endian signed byte, short, int, float and double data', () => {
    const sb = parseIdx(idxBytes(0x09, [3], Uint8Array.from([0xff, 0x80, 0x7f])));
    expect(Array.from(sb.data)).toEqual([-1, -128, 127]);
    const sh = parseIdx(
      idxBytes(
        0x0b,
        [2],
        bigEndian([-2, 300], 2, (v, o, x) => v.setInt16(o, x, false)),
      ),
    );
    expect([sh.dtype, ...sh.data]).toEqual(['short', -2, 300]);
    const int = parseIdx(
      idxBytes(
        0x0c,
        [1, 3],
        bigEndian([1, -70000, 2 ** 30], 4, (v, o, x) => v.setInt32(o, x, false)),
      ),
    );
    expect(int.shape).toEqual([1, 3]);
    expect(Array.from(int.data)).toEqual([1, -70000, 2 ** 30]);
    const fl = parseIdx(
      idxBytes(
        0x0d,
        [2],
        bigEndian([0.5, -3.25], 4, (v, o, x) => v.setFloat32(o, x, false)),
      ),
    );
    expect(Array.from(fl.data)).toEqual([0.5, -3.25]);
    const db = parseIdx(
      idxBytes(
        0x0e,
        [2],
        bigEndian([0.1, -1e300], 8, (v, o, x) => v.setFloat64(o, x, false)),
      ),
    );
    expect(Array.from(db.data)).toEqual([0.1, -1e300]);
  });

  it('reads gzip: a hand-written stored-block member and node zlib output', () => {
    expect(Array.from(parseIdx(gzipStored(IMAGES)).data)).toEqual(Array.from(PIXELS));
    const big = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    const gz = parseIdx(gzipSync(idxBytes(0x08, [700, 100], big)));
    expect(gz.shape).toEqual([700, 100]);
    expect(gz.data[69_999]).toBe((69_999 * 31) % 256);
  });

  it('reads a gzipped file from disk', async () => {
    const dir = tempDir('idx-');
    writeFileSync(join(dir, 'x-idx3-ubyte.gz'), gzipStored(IMAGES));
    const a = await readIdxFile(join(dir, 'x-idx3-ubyte.gz'));
    expect(a.shape).toEqual([2, 3, 2]);
    await expect(readIdxFile(join(dir, 'nope'))).rejects.toThrow(/cannot read IDX file \(ENOENT\)/);
  });

  describe('errors', () => {
    it('wrong magic: non-zero leading bytes or an unknown dtype code', () => {
      const bad = IMAGES.slice();
      bad[0] = 1;
      expectUserError(() => parseIdx(bad, 'f.idx'), 'f.idx', 'wrong magic 01 00 08 03');
      const code = IMAGES.slice();
      code[2] = 0x0a;
      expectUserError(() => parseIdx(code), 'wrong magic 00 00 0a 03');
      // The .npy magic is not an IDX file either.
      expectUserError(() => parseIdx(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])), 'wrong magic');
    });
    it('truncated header, truncated data, trailing bytes', () => {
      expectUserError(() => parseIdx(IMAGES.subarray(0, 3)), 'truncated header');
      expectUserError(() => parseIdx(IMAGES.subarray(0, 10)), 'truncated header', '3 dimensions need 16 bytes');
      expectUserError(() => parseIdx(IMAGES.subarray(0, IMAGES.length - 1)), 'truncated data', 'needs 12 bytes', 'has 11');
      expectUserError(() => parseIdx(Uint8Array.from([...IMAGES, 0])), '1 unexpected bytes');
    });
    it('truncated or corrupt gzip', () => {
      const gz = gzipSync(IMAGES);
      expectUserError(() => parseIdx(gz.subarray(0, gz.length - 6), 'g.gz'), 'g.gz', 'corrupt or truncated gzip');
      const stored = gzipStored(IMAGES);
      stored[stored.length - 8]! ^= 0xff; // wrong CRC
      expectUserError(() => parseIdx(stored), 'corrupt or truncated gzip');
    });
  });
});
