/**
 * The τ explorer: `bench run` keeps a test batch in Smooth-AP cells; the report inlines it; in
 * Chromium the slider recomputes the AP estimate, the true AP and one query's soft ranks, equal
 * to `bench loss smooth-ap` on the same batch at the τ shown.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, LAUNCH } from './chromium.js';

const bench = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

interface Batch {
  embeddings: number[][];
  labels: number[];
}

/** Soft rank 1 + Σ_{j≠i} σ((s_j − s_i)/τ) and true rank of positive i for query q, written out plainly. */
function softRank(b: Batch, q: number, i: number, tau: number, includeQuery: boolean): { soft: number; rank: number } {
  const dot = (u: number[], v: number[]) => u.reduce((s, x, k) => s + x * v[k]!, 0);
  const si = dot(b.embeddings[q]!, b.embeddings[i]!);
  let soft = 1;
  let above = 0;
  b.embeddings.forEach((e, j) => {
    if (j === i || (!includeQuery && j === q)) return;
    const sj = dot(b.embeddings[q]!, e);
    soft += 1 / (1 + Math.min(Math.exp(50), Math.max(Math.exp(-50), Math.exp(-(sj - si) / tau))));
    if (sj > si) above++;
  });
  return { soft, rank: 1 + above };
}

describe('τ explorer', () => {
  const root = mkdtempSync(join(tmpdir(), 'rankbench-explorer-'));
  const results = join(root, 'results');
  const reports = join(root, 'reports');
  let index = '';
  let batch: Batch;
  let cellId = '';

  beforeAll(() => {
    // Two ci cells (the two Smooth-AP temperatures): small and quick, real training.
    const run = bench('run', 'ci', '--results-dir', results, '--reports-dir', reports, '--only', 'loss.name=smooth-ap', '--jobs', '1');
    expect(run.code, run.err).toBe(0);
    index = join(reports, 'ci', 'index.html');
    const cells = readdirSync(join(results, 'ci', 'cells')).map((f) => JSON.parse(readFileSync(join(results, 'ci', 'cells', f), 'utf8')));
    const chosen = cells.find((c) => c.config.loss.params.tau === 0.01);
    cellId = chosen.id;
    batch = chosen.exampleBatch;
  }, 120_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('bench run keeps a PK test batch of the trained embeddings in the cell file', () => {
    // ci: B = 24, P = 3 → 8 classes × 3, embedding dimension 16.
    expect(batch.embeddings).toHaveLength(24);
    expect(batch.embeddings.every((r) => r.length === 16)).toBe(true);
    const counts = new Map<number, number>();
    for (const l of batch.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect([...counts.values()]).toEqual(Array(8).fill(3));
    // Trained embeddings are unit vectors (to the 6 decimals kept).
    for (const r of batch.embeddings) expect(Math.hypot(...r)).toBeCloseTo(1, 4);
    const html = readFileSync(index, 'utf8');
    expect(html).toContain(`<section id="explorer" data-cell="${cellId}">`);
  });

  describe.runIf(existsSync(CHROMIUM))('in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch(LAUNCH);
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('the slider recomputes estimate, true AP and soft ranks equal to bench loss smooth-ap at that τ', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(index).href);
      await page.waitForSelector('#explorer[data-ready="true"]', { timeout: 60_000 });
      const input = join(root, 'batch.json');
      writeFileSync(input, JSON.stringify(batch));
      const read = async () => ({
        tau: (await page.getAttribute('#explorer-tau-value', 'data-tau'))!,
        estimate: Number(await page.getAttribute('#explorer-estimate', 'data-value')),
        trueAP: Number(await page.getAttribute('#explorer-true', 'data-value')),
      });
      // The page starts at the cell's own τ.
      expect((await read()).tau).toBe('0.01');
      const seen: number[] = [];
      // Stops: a log grid 0.001..1 (61 steps) plus the swept 0.1 and 0.01, which it already holds.
      const max = Number(await page.getAttribute('#explorer-tau', 'max'));
      expect(max).toBe(60);
      for (const [stop, tau] of [
        [20, '0.01'],
        [50, '0.316'],
        [0, '0.001'],
        [33, '0.0447'],
        [60, '1'],
      ] as const) {
        await page.locator('#explorer-tau').fill(String(stop));
        const shown = await read();
        expect(shown.tau).toBe(tau);
        const cli = bench('loss', 'smooth-ap', '--input', input, '--set', `tau=${shown.tau}`);
        expect(cli.code, cli.err).toBe(0);
        const ref = JSON.parse(cli.out) as { apEstimate: number; trueAP: number; includeQuery: boolean };
        expect(ref.includeQuery).toBe(true);
        expect(Math.abs(shown.estimate - ref.apEstimate), `τ=${shown.tau}`).toBeLessThan(1e-12);
        expect(Math.abs(shown.trueAP - ref.trueAP)).toBeLessThan(1e-12);
        expect(await page.textContent('#explorer-estimate')).toBe(ref.apEstimate.toFixed(6));
        seen.push(shown.estimate);
      }
      // A larger τ blurs the ranks: the estimate moves away from the true AP.
      expect(new Set(seen).size).toBe(5);

      // One query's soft and true ranks, against the longhand formula.
      await page.locator('#explorer-query').selectOption({ index: 2 });
      const q = Number(await page.locator('#explorer-query').inputValue());
      const tau = Number((await read()).tau);
      const rows = await page.$$eval('#explorer-ranks tr', (trs) =>
        trs.map((tr) => ({
          item: Number(tr.getAttribute('data-item')),
          trueRank: Number(tr.querySelector('[data-column="true"]')!.textContent),
          soft: Number(tr.querySelector('[data-column="soft"]')!.getAttribute('data-value')),
        })),
      );
      const positives = batch.labels.flatMap((l, j) => (l === batch.labels[q] ? [j] : []));
      expect(rows.map((r) => r.item).sort((a, b) => a - b)).toEqual(positives);
      for (const r of rows) {
        const ref = softRank(batch, q, r.item, tau, true);
        expect(r.trueRank).toBe(ref.rank);
        expect(Math.abs(r.soft - ref.soft)).toBeLessThan(1e-9);
      }
      expect(errors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(index).href]);
      await page.close();
    }, 120_000);
  });
});
