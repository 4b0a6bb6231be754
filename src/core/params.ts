import { UserError, show } from './errors.js';

export type ParamValue = number | boolean | string;
export type Params = Record<string, ParamValue>;

/** One tunable parameter of a plugin (loss, dataset, model): its type, default and allowed range. */
export interface ParamSpec {
  name: string;
  type: 'number' | 'integer' | 'boolean' | 'enum' | 'string';
  default: ParamValue;
  doc: string;
  min?: number;
  max?: number;
  /** When true, `min` itself is not allowed (e.g. tau > 0). */
  minExclusive?: boolean;
  values?: readonly string[];
  /**
   * A string naming a file: relative values written in an experiment file are read from that
   * file's folder, those given on the command line from the working directory.
   */
  path?: boolean;
}

/** Human description of what a spec allows, used in `bench list` and in errors. */
export function describeAllowed(spec: Omit<ParamSpec, 'name'>): string {
  switch (spec.type) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
    case 'string':
      return 'a string';
    default: {
      const kind = spec.type === 'integer' ? 'an integer' : 'a number';
      const lo = spec.min === undefined ? '' : `${spec.minExclusive ? '>' : '>='} ${spec.min}`;
      const hi = spec.max === undefined ? '' : `<= ${spec.max}`;
      const range = [lo, hi].filter(Boolean).join(' and ');
      return range ? `${kind} ${range}` : kind;
    }
  }
}

/** The value a raw input (possibly a command-line string) stands for under the spec, or undefined when it breaks the spec. */
function coerce(spec: Omit<ParamSpec, 'name'>, raw: unknown): ParamValue | undefined {
  switch (spec.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      return undefined;
    case 'enum':
      return typeof raw === 'string' && (spec.values ?? []).includes(raw) ? raw : undefined;
    case 'string':
      return typeof raw === 'string' ? raw : undefined;
    case 'number':
    case 'integer': {
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(v)) return undefined;
      if (spec.type === 'integer' && !Number.isInteger(v)) return undefined;
      if (spec.min !== undefined && (spec.minExclusive ? v <= spec.min : v < spec.min)) return undefined;
      if (spec.max !== undefined && v > spec.max) return undefined;
      return v;
    }
  }
}

/** Converts a raw value (possibly a command-line string) to the spec's type, or throws a UserError. */
export function coerceParam(spec: ParamSpec, raw: unknown, where: string): ParamValue {
  const v = coerce(spec, raw);
  if (v === undefined) throw new UserError(`${where}.${spec.name}: ${show(raw)} is not allowed; expected ${describeAllowed(spec)}`);
  return v;
}

/**
 * Whether a value written in a file (YAML, JSON) meets the spec: it must already have the spec's
 * type, since only command-line text is converted ("3" in a file is a string, not a number).
 */
export function fileValueAllowed(spec: Omit<ParamSpec, 'name'>, value: unknown): value is ParamValue {
  const t = typeof value;
  const typed = spec.type === 'number' || spec.type === 'integer' ? t === 'number' : spec.type === 'boolean' ? t === 'boolean' : t === 'string';
  return typed && coerce(spec, value) !== undefined;
}

/**
 * Fills defaults and validates user-given values against the specs. `where` names the owner in
 * errors, e.g. "loss smooth-ap" or "experiments/ablation-tau.yaml: loss.params".
 */
export function resolveParams(specs: readonly ParamSpec[], given: Record<string, unknown> | undefined, where: string): Params {
  const out: Params = {};
  const known = new Set(specs.map((s) => s.name));
  for (const key of Object.keys(given ?? {})) {
    if (!known.has(key)) {
      const allowed = specs.length ? specs.map((s) => s.name).join(', ') : 'none';
      throw new UserError(`${where}: unknown parameter ${show(key)}; allowed: ${allowed}`);
    }
  }
  for (const spec of specs) {
    const raw = given?.[spec.name];
    out[spec.name] = raw === undefined ? spec.default : coerceParam(spec, raw, where);
  }
  return out;
}

/** Parses repeated `--set key=value` flags into a record of raw strings. */
export function parseSetArgs(list: readonly string[] | undefined, flag = '--set'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError(`${flag}: ${show(item)} is not key=value`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}
