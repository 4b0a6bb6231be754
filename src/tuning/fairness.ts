import { canonicalJson } from '../experiments/canonical.js';
import type { CellConfig } from '../experiments/types.js';

/** One setting of the compared runs: the same for every loss, tuned per loss, or a difference. */
export interface FairnessRow {
  key: string;
  status: 'shared' | 'tuned' | 'differs';
  /** Loss → value (one entry, "*", when shared). */
  values: Record<string, string>;
  note: string;
}

/**
 * Settings that define the model and the training budget: a difference in any of them makes the
 * comparison not like-for-like, even when it came from tuning (a larger model or more steps for
 * one loss is a different experiment, not a better loss).
 */
const STRUCTURAL = ['train.model', 'train.embeddingDim', 'train.hidden', 'train.iterations', 'train.batchSize', 'train.perClass', 'train.withReplacement'];
/** Settings tuning may set per loss under the shared budget (the optimiser's step size and decay). */
const OPTIMISER = ['train.lr', 'train.weightDecay'];

/**
 * What the final runs of every compared loss share (model, embedding size, optimiser, steps,
 * batch, P, data, evaluation, tuning budget) and what differs. `configs` maps each loss to the
 * configuration of its test runs (one seed's: the seed is not compared), `tuned` each loss to
 * the key paths tuned for it, `trials` each loss to its finished trials.
 */
export function fairnessPanel(configs: Record<string, CellConfig>, tuned: Record<string, readonly string[]>, trials: Record<string, number>): FairnessRow[] {
  const losses = Object.keys(configs);
  const rows: FairnessRow[] = [];
  const get = (cfg: CellConfig, key: string): string => {
    const [head, field] = key.split('.') as [string, string];
    if (head === 'train') return canonicalJson((cfg.train as unknown as Record<string, unknown>)[field] ?? null);
    if (head === 'eval') return canonicalJson((cfg.eval as unknown as Record<string, unknown>)[field] ?? null);
    return canonicalJson(cfg.dataset);
  };
  const keys = [...STRUCTURAL, ...OPTIMISER, 'eval.k', 'dataset'];
  for (const key of keys) {
    const values = Object.fromEntries(losses.map((l) => [l, get(configs[l]!, key)]));
    const distinct = new Set(Object.values(values));
    const tunedFor = losses.filter((l) => tuned[l]?.includes(key));
    if (distinct.size <= 1 && tunedFor.length === 0) {
      rows.push({ key, status: 'shared', values: { '*': [...distinct][0] ?? '' }, note: 'the same for every loss' });
    } else if (!STRUCTURAL.includes(key) && tunedFor.length === losses.length) {
      rows.push({ key, status: 'tuned', values, note: 'tuned for every loss under the same budget' });
    } else {
      const why = tunedFor.length
        ? ` (tuned for ${tunedFor.join(', ')} only${STRUCTURAL.includes(key) ? '; it changes the model or the training budget' : ''})`
        : '';
      rows.push({ key, status: 'differs', values, note: `not a like-for-like comparison: ${key.replace(/^train\./, '')} differs${why}` });
    }
  }
  const counts = new Set(Object.values(trials));
  rows.push(
    counts.size <= 1
      ? { key: 'tuning trials', status: 'shared', values: { '*': String([...counts][0] ?? 0) }, note: 'the same trial budget for every loss' }
      : {
          key: 'tuning trials',
          status: 'differs',
          values: Object.fromEntries(Object.entries(trials).map(([l, n]) => [l, String(n)])),
          note: 'not a like-for-like comparison: the losses had different numbers of finished trials',
        },
  );
  return rows;
}
