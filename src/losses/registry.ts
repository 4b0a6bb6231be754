import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { UserError, show } from '../core/errors.js';
import { coerceParam, describeAllowed, type ParamSpec } from '../core/params.js';
import { guardPlugin } from './plugin-errors.js';
import type { LossPlugin } from './types.js';

const PARAM_TYPES = ['number', 'integer', 'boolean', 'enum', 'string'];

/** Checks that an object from a user's file has every field a loss plugin needs. */
export function validateLossPlugin(obj: unknown, source: string): LossPlugin {
  const where = `plugin ${source}`;
  if (typeof obj !== 'object' || obj === null) throw new UserError(`${where}: export is ${show(obj)}, expected a loss plugin object`);
  const p = obj as Record<string, unknown>;
  const label = typeof p.name === 'string' ? `${where} (${p.name})` : where;
  if (typeof p.name !== 'string' || !/^[a-z0-9][a-z0-9-_.]*$/i.test(p.name)) {
    throw new UserError(`${label}: missing or invalid field "name" (${show(p.name)}); expected a non-empty string of letters, digits, - _ .`);
  }
  if (typeof p.description !== 'string') throw new UserError(`${label}: missing field "description" (a one-line string)`);
  if (!Array.isArray(p.params)) throw new UserError(`${label}: missing field "params" (an array, possibly empty)`);
  p.params.forEach((spec: unknown, i: number) => {
    const s = spec as Record<string, unknown> | null;
    if (!s || typeof s.name !== 'string') throw new UserError(`${label}: params[${i}] is missing field "name"`);
    if (typeof s.type !== 'string' || !PARAM_TYPES.includes(s.type)) {
      throw new UserError(`${label}: params[${i}] (${s.name}) field "type" is ${show(s.type)}; allowed: ${PARAM_TYPES.join(', ')}`);
    }
    if (s.default === undefined) throw new UserError(`${label}: params[${i}] (${s.name}) is missing field "default"`);
    if (typeof s.doc !== 'string') throw new UserError(`${label}: params[${i}] (${s.name}) is missing field "doc"`);
    if (s.type === 'enum' && !Array.isArray(s.values)) throw new UserError(`${label}: params[${i}] (${s.name}) is an enum without "values"`);
    // A default outside its own spec would only fail later, in the middle of a run.
    const kind = s.type === 'boolean' ? 'boolean' : s.type === 'number' || s.type === 'integer' ? 'number' : 'string';
    try {
      if (typeof s.default !== kind) throw new Error();
      coerceParam(s as unknown as ParamSpec, s.default, label);
    } catch {
      throw new UserError(`${label}: params[${i}] (${s.name}) field "default" is ${show(s.default)}; expected ${describeAllowed(s as unknown as ParamSpec)}`);
    }
  });
  if (typeof p.compute !== 'function') throw new UserError(`${label}: missing field "compute" (a function)`);
  if (p.apConvention !== undefined && typeof p.apConvention !== 'function') {
    throw new UserError(`${label}: field "apConvention" must be a function when present`);
  }
  if (p.kernel !== undefined && typeof p.kernel !== 'function') throw new UserError(`${label}: field "kernel" must be a function when present`);
  return obj as LossPlugin;
}

export class LossRegistry {
  private readonly byName = new Map<string, LossPlugin>();
  /** The file each user plugin came from: its content is part of the identity of cells that use it. */
  private readonly files = new Map<string, string>();

  constructor(plugins: readonly LossPlugin[] = []) {
    for (const p of plugins) this.register(p);
  }

  /** Registers a loss; one from anywhere but the built-ins has its failures reported as its own. */
  register(plugin: LossPlugin, source = 'built-in'): void {
    const checked = validateLossPlugin(plugin, source);
    if (this.byName.has(checked.name)) throw new UserError(`plugin ${source}: a loss named ${show(checked.name)} is already registered`);
    this.byName.set(checked.name, source === 'built-in' ? checked : guardPlugin(checked));
  }

  get(name: string): LossPlugin {
    const p = this.byName.get(name);
    if (!p) throw new UserError(`unknown loss ${show(name)}; available: ${this.names().join(', ')}`);
    return p;
  }

  /** Drops a loss (e.g. `bench perf --loss` measuring one). */
  remove(name: string): void {
    this.byName.delete(name);
    this.files.delete(name);
  }

  /** The absolute path of the file a loss was loaded from, or undefined for a built-in. */
  fileOf(name: string): string | undefined {
    return this.files.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): LossPlugin[] {
    return [...this.byName.values()];
  }

  /** Loads a user's ESM file whose default export is a plugin or an array of plugins. */
  async loadFile(file: string): Promise<string[]> {
    const abs = resolve(file);
    if (!existsSync(abs)) throw new UserError(`--plugin: file ${show(file)} does not exist`);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    } catch (e) {
      throw new UserError(`--plugin: cannot load ${show(file)}: ${(e as Error).message.split('\n')[0]}`);
    }
    const exported = mod.default;
    if (exported === undefined) throw new UserError(`plugin ${file}: no default export; export a loss plugin or an array of them`);
    const list = Array.isArray(exported) ? exported : [exported];
    const names: string[] = [];
    list.forEach((p, i) => {
      this.register(p as LossPlugin, list.length > 1 ? `${file}[${i}]` : file);
      names.push((p as LossPlugin).name);
      this.files.set((p as LossPlugin).name, abs);
    });
    return names;
  }
}
