/**
 * `bench run` answers the experiment's claims: claims.csv and the verdict lines that end the
 * summary, checked against a paired t-test done here by hand from results.csv.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';

describe('bench run with claims', () => {
  const root = mkdtempSync(join(tmpdir(), 'rankbench-claims-cli-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes claims.csv and ends the summary with one verdict line per claim and dataset', () => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'run', 'ci', '--results-dir', root, '--no-report', '--jobs', '1'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toBe('Claims (paired comparisons over seeds, 95%):');
    expect(lines.at(-1)).toMatch(
      /^holds {12}synthetic: Training raises mAP above the untrained model's \(map − untrainedMap: Δ \+\d\.\d{4} \[\+\d\.\d{4}, \+\d\.\d{4}\], p = \d\.\d{4}, 4 pairs\)$/,
    );

    const results = parse(readFileSync(join(root, 'ci', 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const d = results.map((row) => Number(row.map) - Number(row.untrainedMap));
    const n = d.length;
    const mean = d.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    const t = mean / (sd / Math.sqrt(n));
    // Student's t with 3 degrees of freedom in closed form: P(|T| > t) = 1 − (2/π)(atan(u) + u / (1 + u²)), u = t/√3.
    const u = t / Math.sqrt(3);
    const p = 1 - (2 / Math.PI) * (Math.atan(u) + u / (1 + u * u));
    const half = 3.182446305 * (sd / Math.sqrt(n));

    const claims = parse(readFileSync(join(root, 'ci', 'claims.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(claims).toHaveLength(1);
    const c = claims[0]!;
    expect(c).toMatchObject({
      claim: "Training raises mAP above the untrained model's",
      dataset: 'synthetic',
      kind: 'better',
      verdict: 'holds',
      n_pairs: '4',
      decisive: 'true',
      pin: 'holds',
      compared: 'map − untrainedMap',
    });
    expect(Number(c.effect)).toBeCloseTo(mean, 12);
    expect(Number(c.p)).toBeCloseTo(p, 10);
    expect(Number(c.ci_low)).toBeCloseTo(mean - half, 7);
    expect(Number(c.ci_high)).toBeCloseTo(mean + half, 7);
    expect(lines.at(-1)).toContain(`Δ +${mean.toFixed(4)}`);
  }, 120_000);
});
