import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../core/errors.js';

/**
 * Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzipped): two zero bytes,
 * a dtype code, the number of dimensions, each dimension as a big-endian uint32, then the
 * big-endian data in C order.
 */

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

export type IdxDtype = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';

const CODES: Record<number, { dtype: IdxDtype; size: number }> = {
  0x08: { dtype: 'ubyte', size: 1 },
  0x09: { dtype: 'byte', size: 1 },
  0x0b: { dtype: 'short', size: 2 },
  0x0c: { dtype: 'int', size: 4 },
  0x0d: { dtype: 'float', size: 4 },
  0x0e: { dtype: 'double', size: 8 },
};

export async function readIdxFile(path: string): Promise<IdxArray> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read IDX file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseIdx(buf, path);
}

/** Parses IDX bytes, gunzipping first when they start with the gzip magic (1f 8b). */
export function parseIdx(input: Uint8Array, where = 'IDX'): IdxArray {
  const fail = (msg: string): never => {
    throw new UserError(`${where}: not a valid IDX file: ${msg}`);
  };
  let buf = input;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      return fail(`corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  if (buf.length < 4) fail(`truncated header (${buf.length} bytes)`);
  const code = CODES[buf[2]!];
  if (buf[0] !== 0 || buf[1] !== 0 || !code) {
    const hex = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return fail(`wrong magic ${hex} (expected 00 00 <dtype 08|09|0b|0c|0d|0e> <ndims>)`);
  }
  const ndims = buf[3]!;
  if (ndims === 0) fail('zero dimensions');
  const dataStart = 4 + 4 * ndims;
  if (buf.length < dataStart) fail(`truncated header: ${ndims} dimensions need ${dataStart} bytes, file has ${buf.length}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  for (let k = 0; k < ndims; k++) shape.push(view.getUint32(4 + 4 * k, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * code.size;
  const have = buf.length - dataStart;
  if (have < need) fail(`truncated data: shape [${shape.join(', ')}] of ${code.dtype} needs ${need} bytes, file has ${have}`);
  if (have > need) fail(`${have - need} unexpected bytes after the data of shape [${shape.join(', ')}]`);

  let data: IdxArray['data'];
  switch (code.dtype) {
    case 'ubyte':
      data = new Uint8Array(buf.subarray(dataStart, dataStart + need));
      break;
    case 'byte':
      data = new Int8Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt8(dataStart + i);
      break;
    case 'short':
      data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(dataStart + 2 * i, false);
      break;
    case 'int':
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(dataStart + 4 * i, false);
      break;
    case 'float':
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + 4 * i, false);
      break;
    case 'double':
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(dataStart + 8 * i, false);
      break;
  }
  return { dtype: code.dtype, shape, data };
}
