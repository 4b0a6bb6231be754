import { isAbsolute, resolve } from 'node:path';
import { UserError, show } from '../core/errors.js';
import type { Params } from '../core/params.js';
import { dataSeedParam, minPerClassParam, splitPool, splitParam, trainFractionParam } from './common.js';
import {
  columnIndex,
  csvFeatures,
  encodeLabels,
  parseSplitValues,
  readCsvTable,
  readLabelsText,
  readNpyMatrix,
  readNpyVector,
  readSplitFile,
  type CsvTable,
  type FeatureMatrix,
} from './features-io.js';
import { explicitSplit } from './split.js';
import type { DatasetLoadOptions, DatasetPlugin, LoadedDataset, Split } from './types.js';

const NAME = 'features';

interface Loaded {
  matrix: FeatureMatrix;
  rawLabels: (string | number)[];
  /** Train flags from a split column, when one was named. */
  splitFlags?: Uint8Array;
}

/** A relative path is taken from --data-dir, else from the experiment file's folder, else the working directory. */
function resolvePath(p: string, opts: DatasetLoadOptions): string {
  const base = opts.dataDir ?? opts.baseDir;
  return isAbsolute(p) || !base ? resolve(p) : resolve(base, p);
}

/** The files a configuration reads: the features, and the labels and split files when named. */
function featureFiles(params: Params, opts: DatasetLoadOptions): string[] {
  return ['path', 'labels', 'splitFile'].flatMap((k) => {
    const v = params[k] as string;
    return v ? [resolvePath(v, opts)] : [];
  });
}

function splitColumnFlags(table: CsvTable, column: string, path: string): Uint8Array {
  const k = columnIndex(table, column, path, 'splitColumn');
  return parseSplitValues(
    table.rows.map((r) => r[k]!),
    `${path} column ${show(column)}`,
  );
}

/** One CSV holding the features, a label column and optionally a split column. */
async function loadCsv(path: string, params: Params): Promise<Loaded> {
  const table = await readCsvTable(path);
  const labelK = columnIndex(table, params['labelColumn'] as string, path, 'labelColumn');
  const skip = new Set([labelK]);
  const splitColumn = params['splitColumn'] as string;
  let splitFlags: Uint8Array | undefined;
  if (splitColumn) {
    splitFlags = splitColumnFlags(table, splitColumn, path);
    skip.add(columnIndex(table, splitColumn, path, 'splitColumn'));
  }
  return { matrix: csvFeatures(table, skip, path), rawLabels: table.rows.map((r) => r[labelK]!), splitFlags };
}

/** A .npy matrix plus a labels file (.npy ints, or text/CSV). */
async function loadNpy(path: string, params: Params, opts: DatasetLoadOptions): Promise<Loaded> {
  const labelsParam = params['labels'] as string;
  if (!labelsParam) {
    throw new UserError(`dataset ${NAME}: labels: "" is not allowed with .npy features; expected the path of a labels file (.npy, .txt or .csv)`);
  }
  const matrix = await readNpyMatrix(path);
  const labelsPath = resolvePath(labelsParam, opts);
  const splitColumn = params['splitColumn'] as string;
  if (labelsPath.toLowerCase().endsWith('.npy')) {
    if (splitColumn) throw new UserError(`splitColumn: ${show(splitColumn)} needs a CSV labels file or CSV features; ${labelsPath} is .npy`);
    return { matrix, rawLabels: await readNpyVector(labelsPath, 'labels') };
  }
  const { labels, table } = await readLabelsText(labelsPath, params['labelColumn'] as string);
  let splitFlags: Uint8Array | undefined;
  if (splitColumn) {
    if (!table) throw new UserError(`splitColumn: ${show(splitColumn)} is not a column of ${labelsPath}, which has no header row`);
    splitFlags = splitColumnFlags(table, splitColumn, labelsPath);
  }
  return { matrix, rawLabels: labels, splitFlags };
}

async function loadFeatures(params: Params, opts: DatasetLoadOptions): Promise<LoadedDataset> {
  const pathParam = params['path'] as string;
  if (!pathParam) {
    throw new UserError(`dataset ${NAME}: path: "" is not allowed; expected a .npy (rows × features) or .csv file`);
  }
  const path = resolvePath(pathParam, opts);
  const lower = path.toLowerCase();
  let loaded: Loaded;
  if (lower.endsWith('.npy')) loaded = await loadNpy(path, params, opts);
  else if (lower.endsWith('.csv')) loaded = await loadCsv(path, params);
  else throw new UserError(`dataset ${NAME}: path: ${show(pathParam)} is not allowed; expected a file ending in .npy or .csv`);

  const { matrix, rawLabels } = loaded;
  if (rawLabels.length !== matrix.n) {
    throw new UserError(`dataset ${NAME}: ${rawLabels.length} labels for ${matrix.n} feature rows; expected one label per row`);
  }
  const encoded = encodeLabels(rawLabels);
  const all: Split = { x: matrix.x, n: matrix.n, dim: matrix.dim, labels: encoded.labels };
  const classNames = encoded.names;

  let flags = loaded.splitFlags;
  const splitFile = params['splitFile'] as string;
  if (splitFile) {
    if (flags) throw new UserError(`splitFile: ${show(splitFile)} and splitColumn both given; expected one of them`);
    const splitPath = resolvePath(splitFile, opts);
    flags = await readSplitFile(splitPath);
    if (flags.length !== matrix.n) {
      throw new UserError(`splitFile: ${splitPath} has ${flags.length} rows for ${matrix.n} feature rows; expected one per row`);
    }
  }
  if (!flags) return { ...splitPool(NAME, all, params), classNames };
  const { train, test, kind, query, gallery } = explicitSplit(all, flags, `dataset ${NAME}`);
  const out: LoadedDataset = { name: NAME, train, test, splitKind: kind, classNames };
  if (query && gallery) {
    out.query = query;
    out.gallery = gallery;
  }
  return out;
}

export const features: DatasetPlugin = {
  name: NAME,
  description: 'your own features or embeddings (e.g. extracted from SOP, VehicleID, iNaturalist): .npy + labels, or one CSV',
  params: [
    {
      name: 'path',
      type: 'string',
      path: true,
      default: '',
      doc: "a .npy 2-D float array (rows × features) or a CSV with a header row (a relative path is taken from --data-dir if given, else from the experiment file's folder)",
    },
    {
      name: 'labels',
      type: 'string',
      path: true,
      default: '',
      doc: 'with .npy features: labels as .npy ints, or text/CSV with one label per line (or a header naming labelColumn)',
    },
    { name: 'labelColumn', type: 'string', default: 'label', doc: 'the label column of a CSV with a header row' },
    {
      name: 'splitFile',
      type: 'string',
      path: true,
      default: '',
      doc: 'optional: train/test/query/gallery (or 1/0) per row, as text or .npy; overrides split (query/gallery rows: the query-gallery protocol)',
    },
    { name: 'splitColumn', type: 'string', default: '', doc: 'optional: a CSV column of train/test/query/gallery (or 1/0) per row; overrides split' },
    dataSeedParam,
    splitParam('class-disjoint'),
    trainFractionParam,
    minPerClassParam,
  ],
  load: loadFeatures,
  inputFiles: featureFiles,
};
