/** Shared test scaffolding for the data tests: scratch directories and the UserError contract. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { UserError } from '../../src/core/errors.js';

/** A new empty directory under the system temp dir, named prefix + random suffix. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Asserts that `fn` throws (or the promise rejects with) a UserError with a one-line message
 * containing every part: the form bad input must reach users in.
 */
export function expectUserError(fn: () => unknown, ...parts: string[]): void;
export function expectUserError(p: Promise<unknown>, ...parts: string[]): Promise<void>;
export function expectUserError(what: (() => unknown) | Promise<unknown>, ...parts: string[]): void | Promise<void> {
  if (typeof what !== 'function') {
    return what.then(
      () => checkUserError(undefined, parts),
      (e: unknown) => checkUserError(e, parts),
    );
  }
  try {
    what();
  } catch (e) {
    return checkUserError(e, parts);
  }
  checkUserError(undefined, parts);
}

function checkUserError(err: unknown, parts: string[]): void {
  expect(err).toBeInstanceOf(UserError);
  const msg = (err as Error).message;
  expect(msg).not.toContain('\n');
  for (const part of parts) expect(msg).toContain(part);
}
