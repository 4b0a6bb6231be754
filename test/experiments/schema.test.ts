import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { experimentSchema } from '../../src/experiments/schema.js';
import { createLossRegistry } from '../../src/losses/index.js';

const schema = experimentSchema(createLossRegistry().all());
const validate = new Ajv({ allErrors: true }).compile(schema);
const shipped = readdirSync('experiments').filter((f) => f.endsWith('.yaml'));

describe('the experiment JSON Schema', () => {
  it('is the committed experiments/experiment.schema.json (regenerate with bench schema --output)', () => {
    expect(JSON.parse(readFileSync('experiments/experiment.schema.json', 'utf8'))).toEqual(schema);
  });

  it('accepts every shipped experiment, and each points editors at it', () => {
    for (const f of shipped) {
      const text = readFileSync(join('experiments', f), 'utf8');
      expect(text.split('\n')[0], f).toBe('# yaml-language-server: $schema=./experiment.schema.json');
      expect(validate(parse(text)), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('rejects what the loader rejects: a typo in a key, a value out of range, a bad key path', () => {
    const base = { base: { loss: { name: 'smooth-ap', params: { tau: 0.01 } }, train: { lr: 0.001 } } };
    expect(validate(base)).toBe(true);
    expect(validate({ ...base, seed: [0] })).toBe(false);
    expect(validate({ base: { ...base.base, train: { lrr: 0.001 } } })).toBe(false);
    expect(validate({ base: { ...base.base, loss: { name: 'smooth-ap', params: { tau: 0 } } } })).toBe(false);
    expect(validate({ base: { ...base.base, loss: { name: 'smooth-ap', params: { tua: 0.1 } } } })).toBe(false);
    expect(validate({ ...base, sweep: { grid: { 'loss.tau': [0.1] } } })).toBe(false);
    // A loss that is not built in may come from --plugin: its name is allowed, its params are free.
    expect(validate({ base: { loss: { name: 'my-loss', params: { anything: 1 } } } })).toBe(true);
  });
});
