import { UserError, show } from './errors.js';
import { describeAllowed, fileValueAllowed, type ParamSpec, type ParamValue } from './params.js';

/**
 * A file format described once, as a tree of shapes, with two readers of the same tree:
 * `validate` checks a parsed file and returns it typed (an error names the file, the key path,
 * the value and what is allowed, on one line), and `toJsonSchema` writes the JSON Schema that
 * editors use for completion. Whatever a shape cannot say (a key path naming a real parameter,
 * relations between fields) stays in the code that reads the validated value.
 */

export type Json = Record<string, unknown>;

/** A scalar described by a parameter spec (its name is unused: the key names it). */
export type ValueSpec = Omit<ParamSpec, 'name'>;

interface Common {
  /** Shown by editors (the JSON Schema's description). */
  doc?: string;
  /** The value assumed when the key is absent: written into the JSON Schema, applied by the reader. */
  default?: unknown;
  /** null is accepted too (and read as null): "nothing to add here". */
  nullable?: boolean;
  /**
   * A JSON Schema that depends on what is installed (the plugins on offer), in place of the one
   * generated from the shape; the shape itself still decides what `validate` accepts. Its argument
   * is whatever the caller hands `toJsonSchema`.
   */
  json?: (ctx: never) => Json;
}

/** Why a key of a free mapping is not allowed (shown after "unknown key; "), or null. `at` is the mapping's path. */
export type KeyRule = (key: string, at: string) => string | null;

export type Node =
  | (Common & { kind: 'value'; spec: ValueSpec })
  | (Common & { kind: 'text'; what: string })
  | (Common & { kind: 'object'; fields: Record<string, Field>; nonEmpty?: string; fill?: boolean; also?: Json })
  | (Common & { kind: 'map'; what: string; value: Node; key?: KeyRule; keyPattern?: string; nonEmpty?: string })
  | (Common & { kind: 'list'; what: string; item: Node; nonEmpty?: string; distinct?: string })
  | (Common & { kind: 'custom'; check: (value: unknown, key: string | undefined) => string | null; schema: Json });

/** A shape whose validated value has type T (T exists for the type checker only). */
export type Shape<T> = Node & { readonly __type?: T };

/** A scalar shape: it always has a default (its spec's), which an object with `fill` applies. */
export type ValueShape<T> = Extract<Node, { kind: 'value' }> & { readonly __type?: T };

/** A key of an object shape; `required` is the text after "missing; expected " when it is absent. */
export interface Field<T = unknown> {
  shape: Shape<T>;
  required?: string;
}

export type TypeOf<S> = S extends Shape<infer T> ? T : never;

type FieldType<F> = F extends Field<infer T> ? T : F extends Shape<infer T> ? T : never;
type RequiredKeys<F> = { [K in keyof F]: F[K] extends { required: string } ? K : never }[keyof F];
type ObjectOf<F> = { [K in RequiredKeys<F>]: FieldType<F[K]> } & { [K in Exclude<keyof F, RequiredKeys<F>>]?: FieldType<F[K]> };
type ValueKeys<F> = { [K in keyof F]: F[K] extends { kind: 'value' } ? K : never }[keyof F];
/** With `fill`, the scalars' defaults are applied, so those keys are always there. */
type FilledOf<F> = { [K in RequiredKeys<F> | ValueKeys<F>]: FieldType<F[K]> } & {
  [K in Exclude<keyof F, RequiredKeys<F> | ValueKeys<F>>]?: FieldType<F[K]>;
};
type Flatten<T> = { [K in keyof T]: T[K] };

type Opts = Omit<Common, 'default' | 'nullable'> & { default?: unknown };

/** A number, integer, boolean, enum or string checked against a parameter spec (its doc and default included). */
export function value<T extends ParamValue = ParamValue>(spec: ValueSpec): ValueShape<T> {
  return { kind: 'value', spec, doc: spec.doc, default: spec.default };
}

/** A non-empty string; `what` completes "expected …" in errors. */
export function text(what: string, opts: Opts = {}): Shape<string> {
  return { kind: 'text', what, ...opts };
}

/** A key that must be present. */
export function required<T>(shape: Shape<T>, missing: string): Field<T> & { required: string } {
  return { shape, required: missing };
}

/**
 * A mapping with a fixed set of keys: any other key is an error that lists the allowed ones. With
 * `fill`, an absent scalar takes its spec's default (otherwise that is left to a reader that
 * layers settings, as the experiment base is). `also` adds JSON Schema rules between keys that
 * the reader checks in its own code (e.g. exactly one of some keys), so editors flag them too.
 */
export function object<F extends Record<string, Shape<unknown> | Field<unknown>>, const D extends boolean = false>(
  fields: F,
  opts: Opts & { nonEmpty?: string; fill?: D; also?: Json } = {},
): Shape<Flatten<D extends true ? FilledOf<F> : ObjectOf<F>>> {
  const norm: Record<string, Field> = {};
  for (const [k, f] of Object.entries(fields)) norm[k] = 'shape' in f ? (f as Field) : { shape: f as Shape<unknown> };
  return { kind: 'object', fields: norm, ...opts };
}

/** The shape, or null in its place. */
export function orNull<T>(shape: Shape<T>): Shape<T | null> {
  return { ...shape, nullable: true } as Shape<T | null>;
}

/** A mapping with free keys (each checked by `key` when given, `keyPattern` for editors), each value of one shape. */
export function map<T>(
  what: string,
  valueShape: Shape<T>,
  opts: Opts & { key?: KeyRule; keyPattern?: string; nonEmpty?: string } = {},
): Shape<Record<string, T>> {
  return { kind: 'map', what, value: valueShape, ...opts };
}

/** A list of items of one shape; `distinct` names an item ("seed") when repeats are an error. */
export function list<T>(what: string, item: Shape<T>, opts: Opts & { nonEmpty?: string; distinct?: string } = {}): Shape<T[]> {
  return { kind: 'list', what, item, ...opts };
}

/**
 * A value whose rule is code: `check` says what is wrong (or null), given the value and the key
 * it sits under (a list's items share their list's key); `schema` is its JSON Schema. With a
 * check that is always null, it marks a value whose rule needs more than the file (a plugin's
 * parameter, a claim's metric), checked by the code that reads it.
 */
export function custom<T = unknown>(check: (value: unknown, key: string | undefined) => string | null, schema: Json, opts: Opts = {}): Shape<T> {
  return { kind: 'custom', check, schema, ...opts };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const join = (at: string, key: string): string => (at ? `${at}.${key}` : key);

/**
 * Checks `value` against `shape` and returns it typed, with the defaults of absent optional keys
 * filled in (`default` on a field's shape; a scalar's only in an object with `fill`). Throws a
 * one-line UserError "<file>: <key path>: <what is wrong>".
 */
export function validate<T>(shape: Shape<T>, value: unknown, file: string, at = ''): T {
  return check(shape, value, at, (path, msg) => {
    throw new UserError(`${file}: ${path}: ${msg}`);
  });
}

/** `validate` for a reader with its own error function (it is given the key path and the message). */
export function check<T>(shape: Shape<T>, value: unknown, at: string, fail: (path: string, msg: string) => never): T {
  return walk(shape, value, at, undefined, fail) as T;
}

function walk(node: Node, v: unknown, at: string, key: string | undefined, fail: (path: string, msg: string) => never): unknown {
  if (v === null && node.nullable) return null;
  switch (node.kind) {
    case 'value':
      if (!fileValueAllowed(node.spec, v)) fail(at, `${show(v)} is not allowed; expected ${describeAllowed(node.spec)}`);
      return v;
    case 'text':
      if (typeof v !== 'string' || v === '') fail(at, `${show(v)} is not allowed; expected ${node.what}`);
      return v;
    case 'custom': {
      const why = node.check(v, key);
      if (why !== null) fail(at, why);
      return v;
    }
    case 'object': {
      const names = Object.keys(node.fields);
      if (!isObj(v)) return fail(at || '(top level)', `${show(v)} is not allowed; expected a mapping with keys ${names.join(', ')}`);
      for (const k of Object.keys(v)) if (!names.includes(k)) fail(join(at, k), `unknown key; allowed: ${names.join(', ')}`);
      for (const [k, f] of Object.entries(node.fields))
        if (f.required !== undefined && v[k] === undefined) fail(join(at, k), `missing; expected ${f.required}`);
      if (node.nonEmpty !== undefined && Object.keys(v).length === 0) fail(at, `empty; expected ${node.nonEmpty}`);
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(node.fields)) {
        if (v[k] !== undefined) out[k] = walk(f.shape, v[k], join(at, k), k, fail);
        else if (f.shape.default !== undefined && (f.shape.kind !== 'value' || node.fill)) out[k] = structuredClone(f.shape.default);
      }
      return out;
    }
    case 'map': {
      if (!isObj(v)) return fail(at, `${show(v)} is not allowed; expected a mapping of ${node.what}`);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const why = node.key?.(k, at) ?? null;
        if (why !== null) fail(join(at, k), `unknown key; ${why}`);
        out[k] = walk(node.value, x, join(at, k), k, fail);
      }
      if (node.nonEmpty !== undefined && Object.keys(v).length === 0) fail(at, `empty; expected ${node.nonEmpty}`);
      return out;
    }
    case 'list': {
      if (!Array.isArray(v)) return fail(at, `${show(v)} is not allowed; expected a list of ${node.what}`);
      if (node.nonEmpty !== undefined && v.length === 0) fail(at, `empty; expected ${node.nonEmpty}`);
      const out = v.map((x, i) => walk(node.item, x, `${at}[${i}]`, key, fail));
      if (node.distinct !== undefined && new Set(v.map((x) => JSON.stringify(x))).size !== v.length) {
        fail(at, `${show(v)} repeats a ${node.distinct}; expected distinct ${node.distinct}s`);
      }
      return out;
    }
  }
}

/** What a key of an object shape tells a reader: its default, its doc and, for a scalar, the spec that checks it. */
export interface FieldInfo {
  name: string;
  default: unknown;
  doc?: string;
  spec?: ValueSpec;
}

/**
 * The keys of the object shape reached from `shape` through the object keys `path`, in order:
 * for a command that lists what a file may say (bench list) from the same description that
 * validates it. A path that does not lead to an object shape is a programming error.
 */
export function objectFields(shape: Node, path: readonly string[] = []): FieldInfo[] {
  let node = shape;
  for (const key of path) {
    const next = node.kind === 'object' ? node.fields[key] : undefined;
    if (!next) throw new Error(`objectFields: no object key ${key} in ${path.join('.')}`);
    node = next.shape;
  }
  if (node.kind !== 'object') throw new Error(`objectFields: ${path.join('.') || 'the shape'} is a ${node.kind}, not an object`);
  return Object.entries(node.fields).map(([name, { shape: f }]) => ({
    name,
    default: f.default,
    ...(f.doc !== undefined ? { doc: f.doc } : {}),
    ...(f.kind === 'value' ? { spec: f.spec } : {}),
  }));
}

/** The JSON Schema of one parameter spec: type, range or values, default, description. */
export function paramSchema(spec: ValueSpec): Json {
  const out: Json = { description: spec.doc, default: spec.default };
  switch (spec.type) {
    case 'boolean':
      return { ...out, type: 'boolean' };
    case 'string':
      return { ...out, type: 'string' };
    case 'enum':
      return { ...out, enum: [...(spec.values ?? [])] };
    default:
      out.type = spec.type;
      if (spec.min !== undefined) out[spec.minExclusive ? 'exclusiveMinimum' : 'minimum'] = spec.min;
      if (spec.max !== undefined) out.maximum = spec.max;
      return out;
  }
}

/** The JSON Schema (draft-07) of a shape; `ctx` is handed to the shapes whose schema depends on it. */
export function toJsonSchema(node: Node, ctx?: unknown): Json {
  const schema = jsonOf(node, ctx);
  return node.nullable ? { anyOf: [{ type: 'null' }, schema] } : schema;
}

function jsonOf(node: Node, ctx: unknown): Json {
  if (node.json) return node.json(ctx as never);
  const meta: Json = {};
  if (node.doc !== undefined) meta.description = node.doc;
  if (node.default !== undefined) meta.default = node.default;
  switch (node.kind) {
    case 'value':
      return paramSchema(node.spec);
    case 'text':
      return { type: 'string', minLength: 1, ...meta };
    case 'custom':
      return { ...node.schema, ...meta };
    case 'object': {
      const req = Object.entries(node.fields).flatMap(([k, f]) => (f.required !== undefined ? [k] : []));
      return {
        type: 'object',
        ...meta,
        additionalProperties: false,
        ...(req.length ? { required: req } : {}),
        ...(node.nonEmpty !== undefined ? { minProperties: 1 } : {}),
        properties: Object.fromEntries(Object.entries(node.fields).map(([k, f]) => [k, toJsonSchema(f.shape, ctx)])),
        ...node.also,
      };
    }
    case 'map': {
      const values = toJsonSchema(node.value, ctx);
      return {
        type: 'object',
        ...meta,
        ...(node.keyPattern !== undefined ? { propertyNames: { pattern: node.keyPattern } } : {}),
        ...(node.nonEmpty !== undefined ? { minProperties: 1 } : {}),
        // A value of any shape needs no schema; leaving it out keeps the file short.
        ...(Object.keys(values).length ? { additionalProperties: values } : {}),
      };
    }
    case 'list': {
      const items = toJsonSchema(node.item, ctx);
      return {
        type: 'array',
        ...meta,
        ...(Object.keys(items).length ? { items } : {}),
        ...(node.nonEmpty !== undefined ? { minItems: 1 } : {}),
        ...(node.distinct !== undefined ? { uniqueItems: true } : {}),
      };
    }
  }
}
