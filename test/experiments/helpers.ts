import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { LossRegistry } from '../../src/losses/registry.js';
import type { LossPlugin } from '../../src/losses/types.js';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'rankbench-exp-'));
}

/** Writes an experiment file into `dir` and returns its path. */
export function writeYaml(dir: string, name: string, text: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** Losses with known parameter specs, so the loader tests do not depend on the real losses. */
function fixture(name: string, params: LossPlugin['params']): LossPlugin {
  return {
    name,
    description: `test fixture ${name}`,
    params,
    compute: () => ({ loss: tf.scalar(0) }),
  };
}

export function fixtureRegistry(): LossRegistry {
  return new LossRegistry([
    fixture('fake-ap', [
      { name: 'tau', type: 'number', default: 0.01, min: 0, minExclusive: true, doc: 'temperature' },
      { name: 'flag', type: 'boolean', default: true, doc: 'a switch' },
    ]),
    fixture('fake-margin', [{ name: 'margin', type: 'number', default: 0.1, min: 0, doc: 'margin' }]),
  ]);
}

/** A minimal experiment's base (the fixture loss, a tiny synthetic dataset) that tests extend. */
export const BASE_EXPERIMENT = `
base:
  dataset: { name: synthetic, params: { classes: 40, perClass: 4, dim: 8 } }
  train: { model: linear, embeddingDim: 4, iterations: 3, batchSize: 8, perClass: 2 }
  loss: { name: fake-ap, params: { tau: 0.05 } }
`;

/** The UserError `fn` throws (the test fails if it throws nothing or something else). */
export function userErrorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}
