import { shellQuote } from './escape.js';

/** Splits a command line recorded as one string: quotes and backslashes as a POSIX shell reads them. */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** Options that change how a run proceeds, not what it computes. */
const NOT_NEEDED = new Set(['--force']);

/**
 * The command that reproduces an experiment: `npx bench run <experiment>` plus the options of the
 * recorded command (global ones such as --backend or --plugin, and overrides such as --set),
 * whichever way the runner recorded it (argv array or one string).
 */
export function reproduceCommand(experiment: string, recorded: unknown): string {
  const tokens = Array.isArray(recorded) ? recorded.map(String) : typeof recorded === 'string' ? splitCommandLine(recorded) : [];
  const run = tokens.indexOf('run');
  let target = experiment;
  let before: string[] = [];
  let after: string[] = [];
  if (run >= 0) {
    const firstOption = tokens.findIndex((t, i) => i < run && t.startsWith('-'));
    before = firstOption >= 0 ? tokens.slice(firstOption, run) : [];
    // The experiment is the first positional after `run` (options may come before it).
    const rest = tokens.slice(run + 1);
    const pos = rest.findIndex(
      (t, i) => !t.startsWith('-') && (i === 0 || !rest[i - 1]!.startsWith('-') || rest[i - 1]!.includes('=') || NOT_NEEDED.has(rest[i - 1]!)),
    );
    if (pos >= 0) {
      target = rest[pos]!;
      after = [...rest.slice(0, pos), ...rest.slice(pos + 1)];
    } else {
      after = rest;
    }
  }
  const parts = ['npx', 'bench', ...before, 'run', target, ...after.filter((t) => !NOT_NEEDED.has(t))];
  return parts.map(shellQuote).join(' ');
}
