import { existsSync } from 'node:fs';
import { UserError, show } from '../core/errors.js';
import { columnIndex, csvFeatures, readCsvTable, readLabelsText, readNpyMatrix, readNpyVector } from '../data/features-io.js';
import { readBatchFile } from './batch-file.js';

/** Labelled rows read for `bench metrics`, labels as given (class ids are assigned later, jointly for query and gallery). */
export interface LabelledFile {
  x: Float32Array | Float64Array;
  n: number;
  d: number;
  rawLabels: (string | number)[];
}

export interface ReadOptions {
  /** The flag that named the file (--input, --query, --gallery), for messages. */
  flag: string;
  /** Labels file for .npy features, and the flag that gave it. */
  labels?: string;
  labelsFlag: string;
  /** Label column of a CSV (features or labels file). */
  labelColumn: string;
}

/**
 * Reads embeddings with labels in the formats `--input` and the `features` dataset accept:
 * JSON {"embeddings", "labels"}; a .npy rows × features matrix with a labels file (.npy ints,
 * or text/CSV); or one CSV with a header row whose `labelColumn` holds the labels and every
 * other column a feature.
 */
export async function readLabelledFile(path: string, opts: ReadOptions): Promise<LabelledFile> {
  const lower = path.toLowerCase();
  const where = `${opts.flag} ${show(path)}`;
  if (!existsSync(path)) throw new UserError(`${where}: cannot read the file (ENOENT)`);
  if (lower.endsWith('.npy')) {
    if (!opts.labels) {
      throw new UserError(`${where}: .npy features need ${opts.labelsFlag} <file> (labels as .npy ints, or text/CSV with one label per line)`);
    }
    const m = await readNpyMatrix(path);
    const rawLabels = opts.labels.toLowerCase().endsWith('.npy')
      ? await readNpyVector(opts.labels, 'labels')
      : (await readLabelsText(opts.labels, opts.labelColumn)).labels;
    if (rawLabels.length !== m.n) {
      throw new UserError(`${opts.labelsFlag} ${show(opts.labels)}: ${rawLabels.length} labels for ${m.n} rows of ${path}; expected one label per row`);
    }
    return { x: m.x, n: m.n, d: m.dim, rawLabels };
  }
  if (opts.labels) throw new UserError(`${opts.labelsFlag}: only used with .npy features; ${path} carries its own labels`);
  if (lower.endsWith('.csv')) {
    const table = await readCsvTable(path);
    const k = columnIndex(table, opts.labelColumn, path, '--label-column');
    const m = csvFeatures(table, new Set([k]), path);
    return { x: m.x, n: m.n, d: m.dim, rawLabels: table.rows.map((r) => r[k]!) };
  }
  const b = readBatchFile(path, opts.flag);
  return { x: b.x, n: b.n, d: b.d, rawLabels: Array.from(b.labels, (l) => b.labelNames[l]!) };
}

/**
 * Class ids shared by several label lists: labels are compared as text, so a gallery whose
 * labels come from a CSV ("7") matches queries from a .npy (7).
 */
export function sharedClassIds(...lists: (string | number)[][]): Int32Array[] {
  const ids = new Map<string, number>();
  return lists.map((list) =>
    Int32Array.from(list, (l) => {
      const key = String(l).trim();
      let id = ids.get(key);
      if (id === undefined) ids.set(key, (id = ids.size));
      return id;
    }),
  );
}
