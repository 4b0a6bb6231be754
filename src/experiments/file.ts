import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { UserError, show } from '../core/errors.js';

const EXT = /\.ya?ml$/i;

/** The package's own experiments/ folder (beside dist/ or src/), for runs from another directory. */
function packageExperimentsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'experiments');
}

function listNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => EXT.test(f))
    .map((f) => f.replace(EXT, ''))
    .sort();
}

/** Names of the experiments shipped in experiments/ (the working directory's, else the package's). */
export function experimentNames(): string[] {
  return [...new Set([...listNames(resolve('experiments')), ...listNames(packageExperimentsDir())])].sort();
}

/** Resolves `bench run <arg>`: a path to a .yaml file, or a name in experiments/. */
export function findExperimentFile(arg: string): string {
  if (EXT.test(arg) || arg.includes('/') || arg.includes('\\')) {
    if (!existsSync(arg)) throw new UserError(`experiment file ${show(arg)} does not exist`);
    return arg;
  }
  for (const dir of [resolve('experiments'), packageExperimentsDir()]) {
    for (const ext of ['.yaml', '.yml']) {
      const f = join(dir, arg + ext);
      if (existsSync(f)) return f;
    }
  }
  const names = experimentNames();
  throw new UserError(`unknown experiment ${show(arg)}; available: ${names.length ? names.join(', ') : 'none'} (or give a path to a .yaml file)`);
}

/** An experiment's name: its file name without the extension (names its results folder). */
export function experimentNameOf(file: string): string {
  return basename(file, extname(file));
}

/** Reads and parses an experiment file; YAML errors become one line naming the file and line. */
export function readExperimentYaml(file: string, label: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return parse(text, { uniqueKeys: true });
  } catch (e) {
    const err = e as Error & { linePos?: Array<{ line: number; col: number }> };
    const pos = err.linePos?.[0];
    // The parser appends " at line L, column C:" and a source excerpt; keep one line.
    const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new UserError(`${label}: invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${what}`);
  }
}

/** Each shipped experiment's name, file and description (read, not validated: for `bench list`). */
export function experimentCatalogue(): Array<{ name: string; file: string; description: string }> {
  return experimentNames().map((name) => {
    const file = findExperimentFile(name);
    let description = '';
    try {
      const raw = readExperimentYaml(file, file) as { description?: unknown } | null;
      if (typeof raw?.description === 'string') description = raw.description.trim();
    } catch {
      description = '(invalid YAML)';
    }
    return { name, file, description };
  });
}
