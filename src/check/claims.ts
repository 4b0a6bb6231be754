/**
 * Pinned claims: an experiment file may pin a claim's verdict (`pin: holds`); the check fails
 * when a run answers it differently on any dataset. Pure, like compare.ts.
 */
import type { ClaimResult } from '../claims/evaluate.js';
import { evidence } from '../claims/output.js';

export interface PinRow {
  claim: string;
  dataset: string;
  pinned: string;
  now: string;
  ok: boolean;
  /** The evidence behind the verdict now. */
  detail: string;
}

export function pinnedClaims(results: readonly ClaimResult[]): PinRow[] {
  return results
    .filter((r) => r.claim.pin !== undefined)
    .map((r) => ({
      claim: r.claim.text,
      dataset: r.dataset,
      pinned: r.claim.pin!,
      now: r.verdict,
      ok: r.verdict === r.claim.pin,
      detail: evidence(r.decisive, r.claim.kind),
    }));
}

/**
 * A pinned claim that no dataset answered (every cell filtered out, or the claim's metric gone)
 * also fails: a pin that silently stops being checked protects nothing.
 */
export function unansweredPins(pinnedTexts: readonly string[], results: readonly ClaimResult[]): string[] {
  return pinnedTexts.filter((t) => !results.some((r) => r.claim.text === t));
}
