/**
 * The results contract, typed: the declared type of every column of results.csv and summary.csv
 * (and of the baselines, which are results.csv files), and the one way to read them back. The
 * report, `bench check` and the claims parse with it, so a value means the same to each of them
 * and a damaged file fails the same way everywhere: one line naming the file, the line, the
 * column, the value and the type the contract declares. Column names live in columns.ts.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { UserError, show } from '../core/errors.js';
import type { ParamSpec } from '../core/params.js';
import { builtinDatasets } from '../data/index.js';
import { builtinLosses } from '../losses/index.js';
import { SIMILARITIES } from '../metrics/similarity.js';
import { AVERAGINGS } from '../metrics/types.js';
import { TRAIN_PARAM_SPECS } from '../train/config.js';
import { COUNT_METRICS, IDENTITY_COLUMNS, isMetricColumn, SUMMARY_COLUMNS } from './columns.js';
import { PROTOCOL_SPECS } from './eval-protocol.js';

/** A column's declared type: a parameter spec's types, plus whether it may be empty. */
export interface ColumnType {
  type: ParamSpec['type'];
  /** For an enum: the allowed values. */
  values?: readonly string[];
  /** Never empty (the columns that say which cell or group a row is). */
  required?: boolean;
}

/**
 * A value read back: a number, boolean or string as declared; null for an empty field (a
 * metric a cell has none of, a parameter its loss does not take). A number keeps NaN and
 * ±Infinity as written.
 */
export type Value = string | number | boolean | null;
export type Row = Record<string, Value>;

/** The losses loaded (built-ins and --plugin files): their names and each one's parameter specs. */
export interface LossSpecs {
  names(): string[];
  specs(name: string): readonly ParamSpec[] | undefined;
}

/** What the types of the parameter columns depend on. */
export interface ReadContext {
  /** The losses loaded (default: the built-ins); a loss it does not know has its loss.params.* columns read as text. */
  losses?: LossSpecs;
  /** The estimator of rows without an estimator.name column (the experiment's base estimator). */
  estimator?: string;
}

/** The context of an experiment's own rows: its base estimator, and these losses (default: the built-ins). */
export function contractContext(exp: { base: { estimator?: { name: string } } }, losses?: LossSpecs): ReadContext {
  return { ...(losses ? { losses } : {}), ...(exp.base.estimator ? { estimator: exp.base.estimator.name } : {}) };
}

/** The LossSpecs of a list of losses (the loss registry's all()). */
export function lossSpecsOf(losses: ReadonlyArray<{ name: string; params: readonly ParamSpec[] }>): LossSpecs {
  const byName = new Map(losses.map((l) => [l.name, l.params]));
  return { names: () => [...byName.keys()], specs: (name) => byName.get(name) };
}

const builtinSpecs = lossSpecsOf(builtinLosses);

const text: ColumnType = { type: 'string' };
const name: ColumnType = { type: 'string', required: true };
const number: ColumnType = { type: 'number' };
const integer: ColumnType = { type: 'integer' };

const enumOf = (values: readonly string[]): ColumnType => ({ type: 'enum', values });

/** Columns whose type is the same in every row. */
const FIXED = new Map<string, ColumnType>([
  ...IDENTITY_COLUMNS.map((c): [string, ColumnType] => [c, name]),
  ['seed', { type: 'integer', required: true }],
  // The protocol column holds the protocol and its settings ("gallery-draws perClass=1 draws=10").
  ['protocol', text],
  ['similarity', enumOf(SIMILARITIES)],
  ['averaging', enumOf(AVERAGINGS)],
  ['metric', name],
  ['mean', number],
  ['std', number],
  ['n', integer],
  ['ci95Low', number],
  ['ci95High', number],
]);

function specType(spec: ParamSpec | undefined): ColumnType {
  if (!spec) return text;
  return spec.type === 'enum' ? enumOf(spec.values ?? []) : { type: spec.type };
}

function stringOf(v: Value | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * The type of a swept key-path column in one row: from the spec of the field or of the row's
 * plugin's parameter. A loss the context does not know (a --plugin file not loaded) reads as
 * text, as does any column the contract does not know.
 */
function keyPathType(column: string, row: Row, ctx: ReadContext): ColumnType {
  const [head, second, param] = column.split('.');
  if (head === 'train' && param === undefined) return specType(TRAIN_PARAM_SPECS.find((s) => s.name === second));
  if (head === 'eval' && param === undefined) {
    if (second === 'estimateBatches') return integer;
    // eval.k is a list, written as its JSON text.
    return specType(PROTOCOL_SPECS.find((s) => s.name === second));
  }
  if (second !== 'params' || param === undefined) return text;
  if (head === 'dataset') {
    const dataset = builtinDatasets.find((d) => d.name === stringOf(row.dataset));
    return specType(dataset?.params.find((s) => s.name === param));
  }
  const losses = ctx.losses ?? builtinSpecs;
  const plugin = head === 'loss' ? stringOf(row.loss) : head === 'estimator' ? (stringOf(row['estimator.name']) ?? ctx.estimator) : undefined;
  const specs = plugin === undefined ? undefined : losses.specs(plugin);
  if (!specs) return text;
  const own = specs.find((s) => s.name === param);
  return own ? specType(own) : sharedType(losses, param);
}

/**
 * A parameter the row's loss does not take (its field is normally empty): the type the loaded
 * losses that take it agree on, or text when none does or they disagree.
 */
function sharedType(losses: LossSpecs, param: string): ColumnType {
  const types = losses.names().flatMap((n) => (losses.specs(n) ?? []).filter((s) => s.name === param).map(specType));
  const first = types[0];
  const same = first !== undefined && types.every((t) => t.type === first.type && (t.values ?? []).join('\u0000') === (first.values ?? []).join('\u0000'));
  return same ? first : text;
}

/** The declared type of a column in a row (whose fixed columns are already read). */
export function columnType(column: string, row: Row, ctx: ReadContext = {}): ColumnType {
  const fixed = FIXED.get(column);
  if (fixed) return fixed;
  if (isMetricColumn(column)) return COUNT_METRICS.has(column) ? integer : number;
  return keyPathType(column, row, ctx);
}

/** What a type allows, for error messages. */
export function describeType(t: ColumnType): string {
  const kind =
    t.type === 'number'
      ? 'a number (NaN and Infinity included)'
      : t.type === 'integer'
        ? 'an integer'
        : t.type === 'boolean'
          ? 'true or false'
          : t.type === 'enum'
            ? `one of ${(t.values ?? []).join(', ')}`
            : 'text';
  return t.required ? `${kind}, never empty` : `${kind}, or empty`;
}

/** The number syntax the writer produces (String(x) of a double), with an optional sign. */
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const SPECIAL = new Map<string, number>([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['+Infinity', Infinity],
  ['-Infinity', -Infinity],
]);

/** One field as its declared type, or undefined when it is not of that type. */
function convert(t: ColumnType, raw: string): Value | undefined {
  if (raw === '') return t.required ? undefined : null;
  switch (t.type) {
    case 'string':
      return raw;
    case 'enum':
      return (t.values ?? []).includes(raw) ? raw : undefined;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : undefined;
    case 'number':
      return NUMBER.test(raw) ? Number(raw) : SPECIAL.get(raw);
    case 'integer':
      return NUMBER.test(raw) && Number.isInteger(Number(raw)) ? Number(raw) : undefined;
  }
}

/** Where a field sits, for error messages: the file, and the line of its row (header = line 1). */
export interface FieldPlace {
  file: string;
  line: number;
}

/**
 * Fixed columns first, then plugin names (estimator.name): the types of the parameter columns
 * depend on the row's dataset, loss and estimator.
 */
function readOrder(columns: readonly string[]): string[] {
  const rank = (c: string): number => (FIXED.has(c) ? 0 : c.endsWith('.name') ? 1 : 2);
  return [...columns].sort((a, b) => rank(a) - rank(b));
}

/** One row of text fields as typed values; a field not of its declared type is a UserError. */
export function parseRow(columns: readonly string[], fields: Readonly<Record<string, string>>, place: FieldPlace, ctx: ReadContext = {}): Row {
  const row: Row = {};
  for (const col of readOrder(columns)) {
    const raw = fields[col] ?? '';
    const t = columnType(col, row, ctx);
    const v = convert(t, raw);
    if (v === undefined) {
      throw new UserError(`${place.file}: line ${place.line}, column ${show(col)}: ${show(raw)} is not allowed; expected ${describeType(t)}`);
    }
    row[col] = v;
  }
  // Back in the file's column order.
  return Object.fromEntries(columns.map((c) => [c, row[c]!]));
}

/** A results.csv or summary.csv read with the contract. */
export interface TypedTable {
  columns: string[];
  rows: Row[];
}

/** Typed rows of a table of text (the writer's in-memory results.csv); `file` names it in errors. */
export function parseTable(
  table: { columns: string[]; rows: ReadonlyArray<Readonly<Record<string, string>>> },
  file: string,
  ctx: ReadContext = {},
): TypedTable {
  return { columns: table.columns, rows: table.rows.map((r, i) => parseRow(table.columns, r, { file, line: i + 2 }, ctx)) };
}

/** Columns every file of each kind has; the swept ones vary by experiment. */
export const REQUIRED_COLUMNS = {
  results: [...IDENTITY_COLUMNS, 'seed'],
  summary: ['experiment', 'dataset', 'loss', ...SUMMARY_COLUMNS],
} as const;

/**
 * Reads a results.csv (kind results, also a baseline) or summary.csv with the contract. An
 * unreadable CSV, a missing column or a field not of its type is a one-line UserError.
 */
export function readContractCsv(path: string, kind: keyof typeof REQUIRED_COLUMNS, ctx: ReadContext = {}): TypedTable {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(readFileSync(path, 'utf8'), { skip_empty_lines: true, relax_column_count: false, info: true }) as typeof records;
  } catch (e) {
    throw new UserError(`${path}: not a readable CSV file (${(e as Error).message.split('\n')[0]})`);
  }
  const [head, ...body] = records;
  if (!head) throw new UserError(`${path}: empty file, expected a header row`);
  const columns = head.record;
  for (const col of REQUIRED_COLUMNS[kind]) {
    if (!columns.includes(col)) throw new UserError(`${path}: missing column ${show(col)}; header is ${columns.join(',')}`);
  }
  const rows = body.map(({ record, info }) =>
    parseRow(columns, Object.fromEntries(columns.map((c, i) => [c, record[i] ?? ''])), { file: path, line: info.lines }, ctx),
  );
  return { columns, rows };
}
