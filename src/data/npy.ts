import { readFile } from 'node:fs/promises';
import { UserError, show } from '../core/errors.js';

/**
 * Reader for NumPy's .npy format (versions 1.0, 2.0 and 3.0): magic "\x93NUMPY", two version
 * bytes, a little-endian header length (2 bytes in v1, 4 in v2/v3), a Python-literal dict with
 * 'descr', 'fortran_order' and 'shape', then the raw C-order data.
 */

export interface NpyArray {
  /** The dtype string as written in the file, e.g. "<f4". */
  descr: string;
  shape: number[];
  /** Values in C order; 64-bit integers are converted to doubles (an error if not exact). */
  data: Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Uint32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface DtypeInfo {
  size: number;
  kind: 'f' | 'i' | 'u' | 'b';
}

const DTYPES: Record<string, DtypeInfo> = {
  f4: { size: 4, kind: 'f' },
  f8: { size: 8, kind: 'f' },
  i1: { size: 1, kind: 'i' },
  i2: { size: 2, kind: 'i' },
  i4: { size: 4, kind: 'i' },
  i8: { size: 8, kind: 'i' },
  u1: { size: 1, kind: 'u' },
  u2: { size: 2, kind: 'u' },
  u4: { size: 4, kind: 'u' },
  u8: { size: 8, kind: 'u' },
  b1: { size: 1, kind: 'b' },
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const SUPPORTED = '<f4, <f8, <i1..<i8, <u1..<u8, |b1 (either byte order)';

/** Reads and parses a .npy file; errors name the path. */
export async function readNpyFile(path: string): Promise<NpyArray> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read .npy file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseNpy(buf, path);
}

/** Parses .npy bytes; `where` names the source in errors. */
export function parseNpy(buf: Uint8Array, where = '.npy'): NpyArray {
  const fail = (msg: string): never => {
    throw new UserError(`${where}: not a valid .npy file: ${msg}`);
  };
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) fail('wrong magic (expected \\x93NUMPY)');
  const major = buf[6]!;
  const minor = buf[7]!;
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = buf[8]! | (buf[9]! << 8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail('truncated header');
    headerLen = (buf[8]! | (buf[9]! << 8) | (buf[10]! << 16)) + buf[11]! * 0x1000000;
    headerStart = 12;
  } else {
    return fail(`unsupported format version ${major}.${minor} (1.0, 2.0 and 3.0 are supported)`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) fail(`truncated header (needs ${headerLen} bytes, file has ${buf.length - headerStart})`);
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(headerStart, dataStart));

  let header: Record<string, PyValue>;
  try {
    const parsed = parsePyLiteral(headerText.trim());
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('header is not a dict');
    header = parsed as Record<string, PyValue>;
  } catch (e) {
    return fail(`bad header ${show(headerText.trim())}: ${(e as Error).message}`);
  }

  const descr = header['descr'];
  if (typeof descr !== 'string') return fail(`header 'descr' ${show(descr)} is not a simple dtype; supported: ${SUPPORTED}`);
  if (header['fortran_order'] !== false) {
    fail(`fortran_order ${show(header['fortran_order'])} is not supported; save a C-ordered array (np.ascontiguousarray)`);
  }
  const shapeV = header['shape'];
  if (!Array.isArray(shapeV) || !shapeV.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
    return fail(`header 'shape' ${show(shapeV)} is not a tuple of non-negative integers`);
  }
  const shape = shapeV as number[];

  const m = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const info = m ? DTYPES[`${m[2]}${m[3]}`] : undefined;
  if (!m || !info) return fail(`dtype ${show(descr)} is not supported; supported: ${SUPPORTED}`);
  const littleEndian = m[1] !== '>';

  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * info.size;
  const have = buf.length - dataStart;
  if (have < need) fail(`truncated data: shape (${shape.join(', ')}) of ${descr} needs ${need} bytes, file has ${have}`);
  if (have > need) fail(`${have - need} unexpected bytes after the data of shape (${shape.join(', ')}) of ${descr}`);

  const view = new DataView(buf.buffer, buf.byteOffset + dataStart, need);
  return { descr, shape, data: decode(view, count, info, littleEndian, where) };
}

function decode(view: DataView, count: number, info: DtypeInfo, le: boolean, where: string): NpyArray['data'] {
  const key = `${info.kind}${info.size}`;
  // Fast path for the common little-endian case: one byte copy (which also fixes alignment) and a view.
  if (le && HOST_LITTLE_ENDIAN && (key === 'f4' || key === 'f8' || key === 'i4')) {
    const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
    return key === 'f4' ? new Float32Array(bytes) : key === 'f8' ? new Float64Array(bytes) : new Int32Array(bytes);
  }
  switch (key) {
    case 'f4': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, le);
      return out;
    }
    case 'f8': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, le);
      return out;
    }
    case 'i1': {
      const out = new Int8Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    }
    case 'u1':
    case 'b1': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      return out;
    }
    case 'i2': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, le);
      return out;
    }
    case 'u2': {
      const out = new Uint16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, le);
      return out;
    }
    case 'i4': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, le);
      return out;
    }
    case 'u4': {
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, le);
      return out;
    }
    default: {
      // 64-bit integers: JS numbers hold them exactly only up to 2^53, which covers any label.
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const v = info.kind === 'i' ? view.getBigInt64(i * 8, le) : view.getBigUint64(i * 8, le);
        const n = Number(v);
        if (!Number.isSafeInteger(n)) throw new UserError(`${where}: value ${v} at index ${i} does not fit a double exactly`);
        out[i] = n;
      }
      return out;
    }
  }
}

type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue };

/**
 * Parses the subset of Python literals numpy writes in .npy headers: dicts, tuples, lists,
 * quoted strings, integers, True/False/None.
 */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (c: string): void => {
    ws();
    if (text[i] !== c) throw new Error(`expected ${show(c)} at offset ${i}`);
    i++;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, PyValue> = {};
      ws();
      while (text[i] !== '}') {
        const k = value();
        if (typeof k !== 'string') throw new Error('dict key is not a string');
        expect(':');
        obj[k] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') throw new Error(`expected "," or "}" at offset ${i}`);
        ws();
      }
      i++;
      return obj;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const arr: PyValue[] = [];
      ws();
      while (text[i] !== close) {
        arr.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) throw new Error(`expected "," or "${close}" at offset ${i}`);
        ws();
      }
      i++;
      return arr;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!m) throw new Error(`unexpected ${show(text.slice(i, i + 10))} at offset ${i}`);
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace(/L$/, ''));
  };
  const v = value();
  ws();
  if (i !== text.length) throw new Error(`unexpected ${show(text.slice(i, i + 10))} after the value`);
  return v;
}
