/**
 * results/<experiment>/manifest.json (and a baseline's <experiment>.manifest.json): its one type,
 * which the runner and merge write, and its one reader, which the report and `bench check` use.
 * Kept apart from manifest.ts, which gathers the values and loads tfjs for its version: a reader
 * of the file needs none of that.
 */
import { readFileSync } from 'node:fs';
import { UserError, show } from '../core/errors.js';
import type { ReportSpec, ResolvedExperiment } from './types.js';

/** What the numbers were computed from: rankbench versions, data file and plugin digests. */
export interface ManifestInputs {
  rankbench: string[];
  data: Record<string, string>;
  plugins: Record<string, { file: string; sha256: string }>;
}

/** results/<experiment>/manifest.json: what produced the numbers (code, versions, backend, command, inputs). */
export interface Manifest {
  experiment: string;
  file: string;
  resolved: ResolvedExperiment;
  swept: string[];
  report: ReportSpec;
  packageVersion: string;
  gitCommit: string | null;
  /** Uncommitted changes in the checkout that produced the numbers. */
  gitDirty: boolean | null;
  node: string;
  tfjs: string;
  backend: string;
  startedAt: string;
  finishedAt: string;
  command: string;
  cells: { total: number; finished: number; ranNow: number; reused: number };
  /** Absent in manifests written before inputs were recorded. */
  inputs?: ManifestInputs;
  /** A fair comparison's tuning spec (written by the tuning driver beside the rest). */
  tune?: unknown;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A field check: whether the value fits, and what would. */
type Check = [test: (v: unknown) => boolean, expected: string];

const str: Check = [(v) => typeof v === 'string', 'a string'];
const strOrNull: Check = [(v) => v === null || typeof v === 'string', 'a string or null'];
const boolOrNull: Check = [(v) => v === null || typeof v === 'boolean', 'true, false or null'];
const obj: Check = [isObj, 'an object'];
const strList: Check = [(v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), 'a list of strings'];
const count = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const strMap = (v: unknown): boolean => isObj(v) && Object.values(v).every((x) => typeof x === 'string');

/** Every field the writer has always written, with what it must be. */
const REQUIRED: Record<string, Check> = {
  experiment: str,
  file: str,
  resolved: obj,
  swept: strList,
  report: [
    (v) => isObj(v) && (v.x === undefined || typeof v.x === 'string') && (v.logX === undefined || typeof v.logX === 'boolean'),
    'an object with x (a string) and logX (true or false), both optional',
  ],
  packageVersion: str,
  gitCommit: strOrNull,
  gitDirty: boolOrNull,
  node: str,
  tfjs: str,
  backend: str,
  startedAt: str,
  finishedAt: str,
  command: str,
  cells: [(v) => isObj(v) && ['total', 'finished', 'ranNow', 'reused'].every((k) => count(v[k])), 'an object of counts total, finished, ranNow, reused'],
};

const INPUTS: Check = [
  (v) =>
    isObj(v) &&
    strList[0](v.rankbench) &&
    strMap(v.data) &&
    isObj(v.plugins) &&
    Object.values(v.plugins).every((p) => isObj(p) && typeof p.file === 'string' && typeof p.sha256 === 'string'),
  'an object with rankbench (a list of strings), data (file → digest) and plugins (name → file and sha256)',
];

/** Checks a parsed manifest; `where` names it in the one-line error. */
export function validateManifest(m: unknown, where: string): Manifest {
  if (!isObj(m)) throw new UserError(`${where}: not a valid manifest (${show(m)} is not a JSON object)`);
  for (const [field, [test, expected]] of Object.entries(REQUIRED)) {
    if (!(field in m)) throw new UserError(`${where}: not a valid manifest (field ${show(field)} is missing; expected ${expected})`);
    if (!test(m[field])) throw new UserError(`${where}: not a valid manifest (field ${show(field)} is ${show(m[field])}; expected ${expected})`);
  }
  if (m.inputs !== undefined && !INPUTS[0](m.inputs)) {
    throw new UserError(`${where}: not a valid manifest (field "inputs" is ${show(m.inputs)}; expected ${INPUTS[1]})`);
  }
  return m as unknown as Manifest;
}

/** Reads and checks a manifest file; an unreadable or malformed one is a one-line UserError. */
export function readManifest(path: string): Manifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`${path}: cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not a valid manifest (${(e as Error).message.split('\n')[0]})`);
  }
  return validateManifest(parsed, path);
}
