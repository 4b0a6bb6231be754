import { resolve } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExperimentFile } from '../experiments/file.js';
import type { ExperimentArgs } from '../cli/experiment-args.js';
import { asList } from '../cli/context.js';

/** A word for a POSIX shell: left bare when safe, else single-quoted. */
export function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The rankbench entry point this process runs from (dist/cli/main.js). */
export function cliEntry(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
}

/**
 * The flags that make a worker elsewhere see the same cells as this command, every selection
 * flag as given. On a shared filesystem (Slurm) the experiment file, plugins and folders become
 * absolute paths, since a batch job's working directory is not always this one; in a container
 * (`within`) they stay as given, relative to the image's working directory, and the results go
 * to the mounted folder.
 */
export function selectionArgv(args: ExperimentArgs, within?: { resultsDir: string }): string[] {
  const path = (p: string): string => (within ? p : resolve(p));
  const out = [within ? args.experiment : resolve(findExperimentFile(args.experiment))];
  for (const p of args.plugin ?? []) out.push('--plugin', path(p));
  if (args.backend) out.push('--backend', args.backend);
  out.push('--results-dir', within ? within.resultsDir : resolve(args['results-dir']));
  if (args['data-dir'] !== undefined) out.push('--data-dir', path(args['data-dir']));
  if (args.seeds !== undefined) out.push('--seeds', String(args.seeds));
  if (args.dataset !== undefined) out.push('--dataset', String(args.dataset));
  for (const s of asList(args.set) ?? []) out.push('--set', s);
  for (const o of asList(args.only) ?? []) out.push('--only', o);
  return out;
}

/** `node …/main.js <command> <argv…>` as one shell line. */
export function benchLine(command: string, argv: readonly string[]): string {
  return [process.execPath, cliEntry(), command, ...argv].map(shellQuote).join(' ');
}
