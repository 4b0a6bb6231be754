import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pinnedClaims, unansweredPins } from '../../src/check/claims.js';
import type { ClaimResult, Comparison } from '../../src/claims/evaluate.js';
import type { BetterClaim } from '../../src/claims/types.js';

const claim: BetterClaim = {
  kind: 'better',
  text: 'trained beats untrained',
  where: {},
  pin: 'holds',
  param: null,
  a: 'map',
  b: ['untrainedMap'],
  metrics: [],
  goal: 'higher',
};
const comparison: Comparison = {
  label: 'map − untrainedMap',
  metric: 'map − untrainedMap',
  aMean: 0.3,
  bMean: 0.1,
  effect: 0.2,
  ciLow: 0.1,
  ciHigh: 0.3,
  p: 0.01,
  pAdjusted: 0.01,
  nPairs: 4,
  sign: 1,
  seedsNeeded: 1,
  pairs: [],
  blocks: [],
};
const result = (dataset: string, verdict: ClaimResult['verdict']): ClaimResult => ({
  claim,
  dataset,
  verdict,
  decisive: comparison,
  comparisons: [comparison],
});

describe('pinned claim verdicts', () => {
  it('flags each dataset whose verdict differs from the pin', () => {
    const rows = pinnedClaims([
      result('synthetic', 'holds'),
      result('mnist', 'inconclusive'),
      { ...result('x', 'holds'), claim: { ...claim, pin: undefined as never } },
    ]);
    expect(rows.map((r) => [r.dataset, r.pinned, r.now, r.ok])).toEqual([
      ['synthetic', 'holds', 'holds', true],
      ['mnist', 'holds', 'inconclusive', false],
    ]);
    expect(rows[1]!.detail).toContain('Δ +0.2000 [+0.1000, +0.3000], p = 0.0100, 4 pairs');
  });

  it('a pin no dataset answered fails too', () => {
    expect(unansweredPins(['trained beats untrained', 'another'], [result('synthetic', 'holds')])).toEqual(['another']);
  });
});

const bench = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['dist/cli/main.js', 'check', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("bench check with the ci experiment's pinned claim", () => {
  it('passes as the code stands and fails, naming the claim, when a change flips it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rankbench-pins-'));
    const a = bench('--update', '--baseline-dir', dir);
    expect(a.code, a.err + a.out).toBe(0);
    expect(a.out).toMatch(/ci: 1\/1 pinned claim verdicts unchanged/);
    expect(a.out).toMatch(/Training raises mAP above the untrained model's\s+synthetic\s+holds\s+holds\s+ok/);
    // No training: trained and untrained mAP are equal in every cell, so the claim cannot hold.
    const b = bench('--baseline-dir', dir, '--set', 'train.iterations=0');
    expect(b.code).toBe(1);
    expect(b.out).toContain(`ci: FAILED: pinned claim "Training raises mAP above the untrained model's" on synthetic is now "inconclusive", pinned "holds"`);
  }, 120_000);
});
