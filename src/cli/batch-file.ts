import { readFileSync } from 'node:fs';
import { UserError, show } from '../core/errors.js';

/** A batch of embeddings with labels, as read from `{"embeddings": number[][], "labels": [...]}`. */
export interface BatchFile {
  /** n×d row-major embeddings. */
  x: Float64Array;
  n: number;
  d: number;
  /** Dense class ids 0..C-1, in order of first appearance. */
  labels: Int32Array;
  /** The original label of each class id: labelNames[labels[i]] is row i's label as given. */
  labelNames: (string | number)[];
}

/**
 * Reads and validates a batch file. Labels may be numbers or strings (mixed allowed: 1 and "1"
 * are different classes); they map to dense ints so that kernels can compare them cheaply.
 */
export function readBatchFile(path: string, flag = '--input'): BatchFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${flag} ${show(path)}: cannot read the file (${code ?? (e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    // Python's json.dumps writes NaN/Infinity literals, which JSON.parse rejects obscurely.
    const bad = /(?<![\w"])(-?Infinity|NaN)(?![\w"])/.exec(text);
    if (bad) throw new UserError(`${flag} ${show(path)}: contains ${bad[1]}; every value must be a finite number`);
    throw new UserError(`${flag} ${show(path)}: not valid JSON (${(e as Error).message})`);
  }
  return parseBatch(data, path, flag);
}

/** Validates an already-parsed batch object; `source` (given with `flag`) names it in error messages. */
export function parseBatch(data: unknown, source: string, flag = '--input'): BatchFile {
  const where = `${flag} ${show(source)}`;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UserError(`${where}: expected an object {"embeddings": number[][], "labels": (number|string)[]}, got ${show(data)}`);
  }
  const { embeddings, labels } = data as { embeddings?: unknown; labels?: unknown };
  if (!Array.isArray(embeddings)) throw new UserError(`${where}: "embeddings" must be an array of rows (number[][]), got ${show(embeddings)}`);
  if (!Array.isArray(labels)) throw new UserError(`${where}: "labels" must be an array of numbers or strings, got ${show(labels)}`);
  const n = embeddings.length;
  if (n === 0) throw new UserError(`${where}: "embeddings" is empty; at least one row is needed`);
  const first = embeddings[0];
  if (!Array.isArray(first) || first.length === 0) {
    throw new UserError(`${where}: embeddings[0] must be a non-empty array of numbers, got ${show(first)}`);
  }
  const d = first.length;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = embeddings[i] as unknown;
    if (!Array.isArray(row)) throw new UserError(`${where}: embeddings[${i}] must be an array of numbers, got ${show(row)}`);
    if (row.length !== d) {
      throw new UserError(`${where}: ragged embeddings: row ${i} has ${row.length} values, row 0 has ${d}; all rows must have the same length`);
    }
    for (let t = 0; t < d; t++) {
      const v = row[t] as unknown;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new UserError(`${where}: embeddings[${i}][${t}] is ${show(v)}; every value must be a finite number`);
      }
      x[i * d + t] = v;
    }
  }
  if (labels.length !== n) {
    throw new UserError(`${where}: ${labels.length} labels for ${n} embedding rows; the counts must be equal`);
  }
  const ids = new Map<string, number>();
  const labelNames: (string | number)[] = [];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i] as unknown;
    let key: string;
    if (typeof l === 'number') {
      if (!Number.isFinite(l)) throw new UserError(`${where}: labels[${i}] is ${show(l)}; labels must be finite numbers or strings`);
      key = `n:${l}`;
    } else if (typeof l === 'string') {
      key = `s:${l}`;
    } else {
      throw new UserError(`${where}: labels[${i}] is ${show(l)}; labels must be numbers or strings`);
    }
    let id = ids.get(key);
    if (id === undefined) {
      id = labelNames.length;
      ids.set(key, id);
      labelNames.push(l);
    }
    out[i] = id;
  }
  return { x, n, d, labels: out, labelNames };
}
