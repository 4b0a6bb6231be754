import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { custom, list, map, object, required, text, toJsonSchema, validate, value } from '../../src/core/shape.js';

// A small format: a required name, an optional list of distinct sizes with a default, and a
// mapping whose keys must start with "x." and whose values may be lists only under "x.list".
const shape = object({
  name: required(text('a name'), 'a name'),
  sizes: list('sizes', value<number>({ type: 'integer', min: 1, default: 1, doc: 'a size' }), {
    nonEmpty: 'at least one size',
    distinct: 'size',
    default: [1],
  }),
  set: map(
    'x-keys to values',
    custom((v, key) => (typeof v === 'number' || (key === 'x.list' && Array.isArray(v)) ? null : `${JSON.stringify(v)} is not a number`), { type: 'number' }),
    { key: (k) => (k.startsWith('x.') ? null : 'expected x.<name>'), keyPattern: '^x\\.' },
  ),
});

function message(v: unknown): string {
  try {
    validate(shape, v, 'f.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  return 'accepted';
}

describe('validate', () => {
  it('returns the value typed, with the default of an absent optional key filled', () => {
    const got = validate(shape, { name: 'a', set: { 'x.a': 1, 'x.list': [1, 2] } }, 'f.yaml');
    expect(got).toEqual({ name: 'a', sizes: [1], set: { 'x.a': 1, 'x.list': [1, 2] } });
    const n: string = got.name;
    expect(n).toBe('a');
  });

  it('names the file, the key path, the value and what is allowed', () => {
    expect(message([])).toBe('f.yaml: (top level): [] is not allowed; expected a mapping with keys name, sizes, set');
    expect(message({ name: 'a', size: [1] })).toBe('f.yaml: size: unknown key; allowed: name, sizes, set');
    expect(message({ sizes: [1] })).toBe('f.yaml: name: missing; expected a name');
    expect(message({ name: '' })).toBe('f.yaml: name: "" is not allowed; expected a name');
    expect(message({ name: 'a', sizes: [] })).toBe('f.yaml: sizes: empty; expected at least one size');
    expect(message({ name: 'a', sizes: [2, 0] })).toBe('f.yaml: sizes[1]: 0 is not allowed; expected an integer >= 1');
    expect(message({ name: 'a', sizes: [2, '3'] })).toBe('f.yaml: sizes[1]: "3" is not allowed; expected an integer >= 1');
    expect(message({ name: 'a', sizes: [2, 2] })).toBe('f.yaml: sizes: [2,2] repeats a size; expected distinct sizes');
    expect(message({ name: 'a', set: { y: 1 } })).toBe('f.yaml: set.y: unknown key; expected x.<name>');
    expect(message({ name: 'a', set: { 'x.a': [1] } })).toBe('f.yaml: set.x.a: [1] is not a number');
    expect(message({ name: 'a', set: 3 })).toBe('f.yaml: set: 3 is not allowed; expected a mapping of x-keys to values');
  });
});

describe('toJsonSchema', () => {
  it('writes the same description as draft-07 JSON Schema', () => {
    expect(toJsonSchema(shape)).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1 },
        sizes: { type: 'array', default: [1], items: { type: 'integer', minimum: 1, default: 1, description: 'a size' }, minItems: 1, uniqueItems: true },
        set: { type: 'object', propertyNames: { pattern: '^x\\.' }, additionalProperties: { type: 'number' } },
      },
    });
  });

  it("uses a shape's own JSON where it depends on what is installed", () => {
    const open = text('a plugin', { json: (ctx: { names: string[] }) => ({ enum: ctx.names }) });
    expect(toJsonSchema(open, { names: ['a', 'b'] })).toEqual({ enum: ['a', 'b'] });
  });
});
