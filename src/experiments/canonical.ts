import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth, so that two configurations that differ only in
 * the order their keys were written serialise (and hash) identically.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** A cell's id: the first 12 hex digits of sha256 over the canonical JSON of its configuration. */
export function cellId(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 12);
}
