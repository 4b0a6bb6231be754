/**
 * One small PK batch of a cell's trained test embeddings, kept in the cell file so that a report
 * can recompute batch-level quantities (e.g. an AP estimate at another temperature) in the page.
 */
import { UserError } from '../core/errors.js';
import { PKSampler } from '../data/sampler.js';
import type { Split } from '../data/types.js';
import type { CellConfig } from './types.js';

/** Rows kept at most: a page that inlines the batch stays light (64 × 32 values ≈ 20 kB). */
export const EXAMPLE_BATCH_MAX = 64;
/** Decimals kept: the stored numbers are the batch (whatever reads it uses these exact values). */
const DECIMALS = 1e6;

export interface ExampleBatch {
  embeddings: number[][];
  /** Test-split class ids. */
  labels: number[];
}

/**
 * A PK batch of the cell's P and at most EXAMPLE_BATCH_MAX rows, drawn with its own seed (it is
 * an example, not one of the estimate's batches). null when the split cannot form one.
 */
export function exampleBatch(emb: Float32Array, e: number, test: Split, cfg: CellConfig): ExampleBatch | null {
  const p = cfg.train.perClass;
  const b = Math.min(cfg.train.batchSize, Math.max(2 * p, Math.floor(EXAMPLE_BATCH_MAX / p) * p));
  let idx: Int32Array;
  try {
    idx = new PKSampler(test.labels, b, p, cfg.seed + 0x5eed, { withReplacement: cfg.train.withReplacement }).next();
  } catch (err) {
    if (err instanceof UserError) return null;
    throw err;
  }
  const embeddings = Array.from(idx, (i) => Array.from(emb.subarray(i * e, (i + 1) * e), (v) => Math.round(v * DECIMALS) / DECIMALS));
  return { embeddings, labels: Array.from(idx, (i) => test.labels[i]!) };
}
