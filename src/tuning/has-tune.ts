import { isAbsolute, relative, resolve } from 'node:path';
import { findExperimentFile, readExperimentYaml } from '../experiments/file.js';

/** How a file is named in messages: relative to the working directory when inside it. */
export function experimentLabel(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(file);
}

/** Whether an experiment file declares `tune:` (then it is run by the tuning driver, not swept). */
export function hasTune(fileOrName: string): boolean {
  const file = findExperimentFile(fileOrName);
  const raw = readExperimentYaml(file, experimentLabel(file));
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw) && (raw as Record<string, unknown>).tune !== undefined;
}
