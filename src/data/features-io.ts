import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { UserError, show } from '../core/errors.js';
import { readNpyFile, type NpyArray } from './npy.js';

/** Rows of features read from a .npy matrix or a CSV table. */
export interface FeatureMatrix {
  x: Float32Array;
  n: number;
  dim: number;
}

/** A CSV table: header row plus string cells. */
export interface CsvTable {
  header: string[];
  rows: string[][];
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UserError(`${path}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

export function parseCsv(text: string, path: string): string[][] {
  try {
    return parse(text, { skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][];
  } catch (e) {
    throw new UserError(`${path}: not valid CSV (${(e as Error).message})`);
  }
}

/** A 2-D numeric .npy array as float32 rows; any non-finite value is an error naming its row. */
export async function readNpyMatrix(path: string): Promise<FeatureMatrix> {
  const arr = await readNpyFile(path);
  if (arr.shape.length !== 2) {
    throw new UserError(`${path}: features must be a 2-D array (rows × features); found shape (${arr.shape.join(', ')})`);
  }
  const [n, dim] = arr.shape as [number, number];
  const x = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data);
  checkFinite(x, dim, path);
  return { x, n, dim };
}

function checkFinite(x: Float32Array, dim: number, path: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) {
      throw new UserError(`${path}: row ${Math.floor(i / dim)} column ${i % dim} is ${x[i]}; expected finite numbers`);
    }
  }
}

/** Integer values of a 1-D (or n×1) .npy array, e.g. labels or a train flag. */
export async function readNpyVector(path: string, what: string): Promise<number[]> {
  const arr: NpyArray = await readNpyFile(path);
  if (!(arr.shape.length === 1 || (arr.shape.length === 2 && arr.shape[1] === 1))) {
    throw new UserError(`${path}: ${what} must be a 1-D array; found shape (${arr.shape.join(', ')})`);
  }
  const out = Array.from(arr.data as ArrayLike<number>);
  out.forEach((v, i) => {
    if (!Number.isInteger(v)) throw new UserError(`${path}: ${what} at index ${i} is ${v}; expected integers`);
  });
  return out;
}

/** A CSV file whose first row is a header. */
export async function readCsvTable(path: string): Promise<CsvTable> {
  const rows = parseCsv(await readText(path, 'CSV file'), path);
  if (rows.length < 2) throw new UserError(`${path}: expected a header row and at least one data row; found ${rows.length} rows`);
  return { header: rows[0]!, rows: rows.slice(1) };
}

export function columnIndex(table: CsvTable, name: string, path: string, param: string): number {
  const k = table.header.indexOf(name);
  if (k < 0) throw new UserError(`${param}: ${show(name)} is not a column of ${path}; columns: ${table.header.join(', ')}`);
  return k;
}

/** Every column but `skip` as float32 features; a cell that is not a finite number is an error naming it. */
export function csvFeatures(table: CsvTable, skip: Set<number>, path: string): FeatureMatrix {
  const cols = table.header.map((_, k) => k).filter((k) => !skip.has(k));
  if (cols.length === 0) throw new UserError(`${path}: no feature columns besides ${table.header.join(', ')}`);
  const n = table.rows.length;
  const dim = cols.length;
  const x = new Float32Array(n * dim);
  table.rows.forEach((row, i) => {
    cols.forEach((k, j) => {
      const cell = row[k]!;
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) {
        throw new UserError(`${path}: row ${i + 1} column ${show(table.header[k])} is ${show(cell)}; expected a finite number`);
      }
      x[i * dim + j] = v;
    });
  });
  return { x, n, dim };
}

/**
 * Labels from a text/CSV file: one label per line, or, when the first row contains a
 * `labelColumn` cell, a CSV with a header from which that column is taken.
 */
export async function readLabelsText(path: string, labelColumn: string): Promise<{ labels: string[]; table?: CsvTable }> {
  const rows = parseCsv(await readText(path, 'labels file'), path);
  if (rows.length > 0 && rows[0]!.includes(labelColumn)) {
    const table = { header: rows[0]!, rows: rows.slice(1) };
    const k = columnIndex(table, labelColumn, path, 'labelColumn');
    return { labels: table.rows.map((r) => r[k]!), table };
  }
  return {
    labels: rows.map((r, i) => {
      if (r.length !== 1) {
        throw new UserError(
          `${path}: line ${i + 1} has ${r.length} fields; expected one label per line, or a header row naming the label column ${show(labelColumn)}`,
        );
      }
      return r[0]!;
    }),
  };
}

/**
 * Dense class ids 0..C−1 in ascending order of the original labels: numeric order when every
 * label is an integer (so "the first half of the classes" follows the dataset's class ids, as
 * for SOP), string order otherwise.
 */
export function encodeLabels(raw: readonly (string | number)[]): { labels: Int32Array; names: string[] } {
  const strings = raw.map((v) => String(v).trim());
  const numeric = strings.every((s) => /^[-+]?\d+$/.test(s));
  const unique = [...new Set(strings)];
  unique.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const id = new Map(unique.map((s, k) => [s, k]));
  return { labels: Int32Array.from(strings, (s) => id.get(s)!), names: unique };
}

/** A row's part in a split file or column: SPLIT_TEST, SPLIT_TRAIN, SPLIT_QUERY or SPLIT_GALLERY. */
export const SPLIT_TEST = 0;
export const SPLIT_TRAIN = 1;
export const SPLIT_QUERY = 2;
export const SPLIT_GALLERY = 3;
const SPLIT_NAMES: Record<string, number> = {
  train: SPLIT_TRAIN,
  '1': SPLIT_TRAIN,
  test: SPLIT_TEST,
  '0': SPLIT_TEST,
  query: SPLIT_QUERY,
  gallery: SPLIT_GALLERY,
};

/**
 * "train", "test", "query" or "gallery" (any case; 1 / 0 for train / test) per row as a split
 * code. query and gallery are test rows that the query-gallery protocol ranks against each other.
 */
export function parseSplitValues(values: readonly (string | number)[], where: string): Uint8Array {
  const out = new Uint8Array(values.length);
  values.forEach((v, i) => {
    const code = SPLIT_NAMES[String(v).trim().toLowerCase()];
    if (code === undefined) {
      throw new UserError(`${where}: row ${i + 1} is ${show(v)}; expected train, test, query or gallery (or 1 / 0 for train / test)`);
    }
    out[i] = code;
  });
  return out;
}

/** A split file: .npy of 1 (train) / 0 (test), or text with train/test/query/gallery per line (an optional "split" header). */
export async function readSplitFile(path: string): Promise<Uint8Array> {
  if (path.toLowerCase().endsWith('.npy')) return parseSplitValues(await readNpyVector(path, 'split flags'), path);
  const rows = parseCsv(await readText(path, 'split file'), path).map((r) => r[0] ?? '');
  const body = rows.length > 0 && rows[0]!.toLowerCase() === 'split' ? rows.slice(1) : rows;
  return parseSplitValues(body, path);
}
