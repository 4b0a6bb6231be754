/**
 * The Findings section and the claim charts, in the built page and in Debian's Chromium: verdicts
 * equal an independent paired computation from results.csv, links reach drawn charts, tooltips
 * carry cell ids and seeds, a legend click highlights one series.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, LAUNCH } from './chromium.js';
import { buildReport, buildReportIndex } from '../../src/report/build.js';
import { writeFixture } from './fixture.js';

const CLAIMS = [
  {
    kind: 'best',
    text: 'τ = 0.01 gives the highest mAP',
    where: { loss: 'smooth-ap' },
    param: 'loss.params.tau',
    value: 0.01,
    metric: { a: 'map', abs: false, text: 'map' },
    goal: 'higher',
  },
  {
    kind: 'trend',
    text: 'the estimate gap grows with τ',
    where: { loss: 'smooth-ap' },
    param: 'loss.params.tau',
    metric: { a: 'apGap', abs: true, text: '|apGap|' },
    direction: 'increasing',
  },
];

type CsvRow = Record<string, string>;

/**
 * Independent verdict of the best claim for one dataset: paired t-tests by hand with df = 2's
 * closed-form tail P(|T| > t) = 1 − |t| / sqrt(t² + 2), Holm over the two comparisons.
 */
function bestVerdict(rows: CsvRow[], dataset: string): { verdict: string; means: Record<string, number> } {
  const mine = rows.filter((r) => r.dataset === dataset && r.loss === 'smooth-ap');
  const seeds = [...new Set(mine.map((r) => r.seed))];
  expect(seeds).toHaveLength(3);
  const at = (tau: number, seed: string) => Number(mine.find((r) => Number(r['loss.params.tau']) === tau && r.seed === seed)!.map);
  const means: Record<string, number> = {};
  const tests = [0.001, 0.1].map((other) => {
    const d = seeds.map((s) => at(0.01, s) - at(other, s));
    const mean = d.reduce((a, b) => a + b, 0) / 3;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    const t = mean / (sd / Math.sqrt(3));
    means[`0.01 vs ${other}`] = mean;
    return { mean, p: 1 - Math.abs(t) / Math.sqrt(t * t + 2) };
  });
  const [lo, hi] = [...tests].sort((a, b) => a.p - b.p);
  const adj = new Map([
    [lo!, Math.min(1, 2 * lo!.p)],
    [hi!, Math.max(Math.min(1, 2 * lo!.p), hi!.p)],
  ]);
  if (tests.some((t) => adj.get(t)! < 0.05 && t.mean < 0)) return { verdict: 'does not hold', means };
  return { verdict: tests.every((t) => adj.get(t)! < 0.05 && t.mean > 0) ? 'holds' : 'inconclusive', means };
}

describe('Findings and claim charts', () => {
  const root = mkdtempSync(join(tmpdir(), 'rankbench-findings-'));
  const resultsDir = join(root, 'results');
  const reportsDir = join(root, 'reports');
  let html = '';
  let indexPath = '';

  beforeAll(async () => {
    writeFixture(resultsDir, {
      experiment: 'ablation-tau',
      losses: ['smooth-ap', 'fast-ap'],
      swept: { column: 'loss.params.tau', values: [0.001, 0.01, 0.1] },
      seeds: [1, 2, 3],
    });
    const manifestPath = join(resultsDir, 'ablation-tau', 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.resolved.claims = CLAIMS;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    ({ indexPath } = await buildReport('ablation-tau', { resultsDir, reportsDir }));
    html = readFileSync(indexPath, 'utf8');
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('opens with Findings whose verdicts and effects match an independent paired computation', () => {
    expect(html.indexOf('<section id="findings">')).toBeGreaterThan(0);
    expect(html.indexOf('<section id="findings">')).toBeLessThan(html.indexOf('<section id="charts">'));
    const rows = parse(readFileSync(join(resultsDir, 'ablation-tau', 'results.csv'), 'utf8'), { columns: true }) as CsvRow[];
    for (const dataset of ['synthetic', 'mnist']) {
      const { verdict, means } = bestVerdict(rows, dataset);
      const li = new RegExp(
        `<li data-dataset="${dataset}" data-verdict="([^"]+)">.*?<b>${dataset}</b>: (0\\.01 vs 0\\.\\d+) on map: Δ ([-+]\\d\\.\\d{4})`,
      ).exec(html.slice(html.indexOf('data-claim="1"'), html.indexOf('data-claim="2"')));
      expect(li, dataset).not.toBeNull();
      expect(li![1]).toBe(verdict);
      expect(Number(li![3])).toBeCloseTo(means[li![2]!]!, 4);
    }
    expect(html).toContain('<a class="chart-link" href="#chart-claim-1">chart</a>');
    expect(html).toContain('<div class="chart" id="chart-claim-1" data-chart="claim-1">');
    expect(html).toContain('<div class="chart" id="chart-claim-2" data-chart="claim-2">');
    // The claim charts lead.
    expect(html.indexOf('data-chart="claim-1"')).toBeLessThan(html.indexOf('data-chart="metrics"'));
  });

  it("reports/index.html counts each experiment's verdicts", () => {
    const verdicts = [...html.matchAll(/<li data-dataset="[^"]+" data-verdict="([^"]+)">/g)].map((m) => m[1]!);
    expect(verdicts).toHaveLength(4); // 2 claims × 2 datasets
    const counts = new Map<string, number>();
    for (const v of verdicts) counts.set(v, (counts.get(v) ?? 0) + 1);
    const index = readFileSync(buildReportIndex(reportsDir), 'utf8');
    const row = index.split('\n').find((l) => l.includes('>ablation-tau</a>'))!;
    for (const [v, n] of counts) expect(row).toContain(`${n} ${v}`);
  });

  it('says so when the experiment states no claim', async () => {
    writeFixture(join(root, 'plain'), { experiment: 'plain' });
    const { indexPath: p } = await buildReport('plain', { resultsDir: join(root, 'plain'), reportsDir });
    expect(readFileSync(p, 'utf8')).toMatch(/<section id="findings">\s*<h2>Findings<\/h2>\s*<p class="note">The experiment file states no claim/);
  });

  describe.runIf(existsSync(CHROMIUM))('in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch(LAUNCH);
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("draws the claim charts; a point's tooltip names its cells and seed; a legend click highlights", async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(indexPath).href);
      await page.waitForSelector('body[data-rendered]', { timeout: 60_000 });
      expect(await page.getAttribute('body', 'data-rendered')).toBe('true');
      expect(errors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(indexPath).href]);
      // The first section a reader meets is Findings.
      expect(await page.$eval('body > section', (s) => s.id)).toBe('findings');

      // Claim 1: 2 comparisons × 3 seeds × 2 datasets paired dots.
      const dots = page.locator('#chart-claim-1 g.mark-symbol.role-mark path');
      expect(await dots.count()).toBe(2 * 3 * 2);
      const results = parse(readFileSync(join(resultsDir, 'ablation-tau', 'results.csv'), 'utf8'), { columns: true }) as CsvRow[];
      await dots.first().hover();
      const tip = page.locator('#vg-tooltip-element');
      await tip.waitFor({ state: 'visible', timeout: 10_000 });
      // vega-tooltip draws a key/value table.
      const kv = Object.fromEntries(
        await tip
          .locator('tr')
          .evaluateAll((trs) =>
            trs.map((tr) => [tr.querySelector('.key')?.textContent?.replace(/:$/, '') ?? '', tr.querySelector('.value')?.textContent ?? '']),
          ),
      );
      const cellA = kv['cell A'];
      const seed = kv.seed;
      expect(cellA, JSON.stringify(kv)).toMatch(/^[0-9a-f]{12}$/);
      const row = results.find((r) => r.cell === cellA)!;
      expect(row.seed).toBe(seed);
      expect(Number(row['loss.params.tau'])).toBe(0.01);
      // The exact value of A, to the 6 decimals shown.
      const a = Number(kv.A);
      expect(a).toBeCloseTo(Number(row.map), 6);

      // Clicking the first legend entry fades the other comparison's dots.
      const opacities = () => dots.evaluateAll((ps) => ps.map((p) => Number(p.getAttribute('opacity') ?? getComputedStyle(p).opacity)));
      expect(new Set(await opacities()).size).toBe(1);
      await page.locator('#chart-claim-1 .role-legend-symbol path').first().click();
      await page.waitForTimeout(200);
      const after = await opacities();
      expect(after.filter((o) => o < 0.2)).toHaveLength(6);
      expect(after.filter((o) => o > 0.5)).toHaveLength(6);

      // Claim 2, a trend: one line per seed and dataset.
      expect(await page.locator('#chart-claim-2 g.mark-line.role-mark path').count()).toBe(3 * 2);
      // The Findings link scrolls to a drawn chart.
      const href = await page.getAttribute('li[data-claim="2"] a.chart-link', 'href');
      expect(await page.locator(`${href} svg`).count()).toBe(1);
      await page.close();
    });

    it("the metrics chart: a mean's tooltip lists each seed's exact value and cell; a legend click fades other series", async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(pathToFileURL(indexPath).href);
      await page.waitForSelector('body[data-rendered="true"]', { timeout: 60_000 });
      const points = page.locator('#chart-metrics g.mark-symbol.role-mark path');
      await points.first().hover();
      const tip = page.locator('#vg-tooltip-element');
      await tip.waitFor({ state: 'visible', timeout: 10_000 });
      const kv = Object.fromEntries(
        await tip
          .locator('tr')
          .evaluateAll((trs) =>
            trs.map((tr) => [tr.querySelector('.key')?.textContent?.replace(/:$/, '') ?? '', tr.querySelector('.value')?.textContent ?? '']),
          ),
      );
      const results = parse(readFileSync(join(resultsDir, 'ablation-tau', 'results.csv'), 'utf8'), { columns: true }) as CsvRow[];
      const listed = [...kv['seed: value (cell)']!.matchAll(/seed (\d+): ([-\d.e]+) \(cell ([0-9a-f]{12})\)/g)];
      expect(listed, JSON.stringify(kv)).toHaveLength(3);
      let sum = 0;
      for (const [, seed, value, cell] of listed) {
        const row = results.find((r) => r.cell === cell)!;
        expect(row.seed).toBe(seed);
        // The value is the cell's own, digit for digit; the first panel is mAP.
        expect(value).toBe(String(Number(row.map)));
        sum += Number(value);
      }
      expect(Number(kv.mean)).toBeCloseTo(sum / 3, 10);
      const before = await points.evaluateAll((ps) => ps.map((p) => Number(p.getAttribute('opacity') ?? 1)));
      expect(Math.min(...before)).toBe(1);
      await page.locator('#chart-metrics .role-legend-symbol path').first().click();
      await page.waitForTimeout(200);
      const after = await points.evaluateAll((ps) => ps.map((p) => Number(p.getAttribute('opacity') ?? 1)));
      // Two losses: half the points stay, half fade.
      expect(after.filter((o) => o === 1)).toHaveLength(after.length / 2);
      expect(after.filter((o) => o < 0.2)).toHaveLength(after.length / 2);
      await page.close();
    });
  });
});
