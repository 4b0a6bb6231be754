/**
 * Opens the built report in Debian's Chromium (driven by playwright-core; never a downloaded
 * browser) and checks what a reader sees: drawn charts, no errors, no network, the right numbers.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, LAUNCH } from './chromium.js';
import { lossSpecsOf } from '../../src/experiments/contract.js';
import { builtinLosses } from '../../src/losses/index.js';
import { buildReport, buildReportIndex } from '../../src/report/build.js';
import { writeFixture } from './fixture.js';

const hasChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
const EVIL_LOSS = '<script>alert(1)</script>';

describe('Chromium availability', () => {
  it('has Chromium for the browser test, or says why that test did not run', () => {
    if (hasChromium) {
      expect(existsSync(CHROMIUM)).toBe(true);
      return;
    }
    const reason = `the real-browser report test did not run: ${CHROMIUM} is missing (install it with \`apt-get install chromium\`; .ci/run does)`;
    // In CI a missing browser is a broken setup, not a reason to skip.
    if (inCi) throw new Error(`${reason}; CI must have it`);
    console.warn(reason);
    expect(reason).toContain(CHROMIUM);
  });
});

interface Watch {
  requests: string[];
  errors: string[];
  dialogs: string[];
}

function watch(page: Page): Watch {
  const w: Watch = { requests: [], errors: [], dialogs: [] };
  page.on('request', (r) => w.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') w.errors.push(m.text());
  });
  page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  return w;
}

type CsvRow = Record<string, string>;

function readCsv(path: string): CsvRow[] {
  return parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as CsvRow[];
}

/** "0.7123 ± 0.0100" → numbers and the decimals shown (the rounding the comparison allows). */
function parseShown(text: string): { mean: number; half: number | null; decimals: number } {
  const m = /^(-?\d+(?:\.(\d+))?)(?: ± (\d+(?:\.\d+)?))?$/.exec(text.trim());
  if (!m) throw new Error(`table cell ${JSON.stringify(text)} is not "mean ± half"`);
  return { mean: Number(m[1]), half: m[3] === undefined ? null : Number(m[3]), decimals: m[2]?.length ?? 0 };
}

describe.runIf(hasChromium)('report in headless Chromium', () => {
  const root = mkdtempSync(join(tmpdir(), 'rankbench-browser-'));
  const resultsDir = join(root, 'results');
  const reportsDir = join(root, 'reports');
  const datasets = ['synthetic', 'mnist'];
  const losses = ['smooth-ap', EVIL_LOSS];
  const taus = [0.001, 0.01, 0.1];
  const seeds = [1, 2, 3];
  let browser: Browser;
  let indexPath: string;

  beforeAll(async () => {
    writeFixture(resultsDir, { experiment: 'ablation-tau', datasets, losses, swept: { column: 'loss.params.tau', values: taus }, seeds });
    // The evil loss stands for a loaded plugin with Smooth-AP's parameters, so that τ is a number axis for it too.
    const smoothAp = builtinLosses.find((l) => l.name === 'smooth-ap')!;
    const loaded = lossSpecsOf([...builtinLosses, { name: EVIL_LOSS, params: smoothAp.params }]);
    ({ indexPath } = await buildReport('ablation-tau', { resultsDir, reportsDir, losses: loaded }));
    buildReportIndex(reportsDir);
    browser = await chromium.launch(LAUNCH);
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('draws every chart, logs no error, requests nothing but the file, runs no injected script', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const w = watch(page);
    const url = pathToFileURL(indexPath).href;
    await page.goto(url);
    await page.waitForSelector('body[data-rendered]', { timeout: 60_000 });
    expect(await page.getAttribute('body', 'data-rendered')).toBe('true');

    const marks = await page.$$eval('.chart', (els) =>
      els.map((el) => ({
        chart: el.getAttribute('data-chart'),
        svg: el.querySelectorAll('svg').length,
        line: el.querySelectorAll('g.mark-line.role-mark path').length,
        area: el.querySelectorAll('g.mark-area.role-mark path').length,
        symbol: el.querySelectorAll('g.mark-symbol.role-mark path').length,
      })),
    );
    // Expected from the fixture's shape alone: facets × series (× points for symbols).
    const metrics = 8; // map, mapAtR, rPrecision, precisionAt1, recallAt1/2/4/8
    const D = datasets.length,
      L = losses.length,
      T = taus.length,
      S = seeds.length;
    expect(marks).toEqual([
      { chart: 'metrics', svg: 1, line: metrics * D * L, area: metrics * D * L, symbol: metrics * D * L * T },
      // AP row: estimate and true AP per loss; gap row: one gap per loss.
      { chart: 'ap-estimate', svg: 1, line: D * (2 * L + L), area: D * (2 * L + L), symbol: D * (2 * L + L) * T },
      // One line per cell for the loss and one for the AP estimate.
      { chart: 'training-curves', svg: 1, line: 2 * D * L * T * S, area: 0, symbol: 0 },
    ]);

    expect(w.errors).toEqual([]);
    expect(w.requests).toEqual([url]);
    expect(w.dialogs).toEqual([]);
    // The hostile loss name is text in the table and in the chart legend, not an element.
    expect(await page.$$eval('script', (s) => s.length)).toBe(3 + 3 + 1);
    const lossCells = await page.$$eval('#summary-table td[data-column="loss"]', (tds) => tds.map((td) => td.textContent));
    expect(new Set(lossCells)).toEqual(new Set(losses));
    const legend = await page.$$eval('#chart-metrics .role-legend-label text', (ts) => ts.map((t) => t.textContent));
    expect(legend).toEqual(losses);
    expect(await page.textContent('#command')).toBe('npx bench run ablation-tau --seeds 1,2,3');

    if (process.env.REPORT_SCREENSHOT) await page.screenshot({ path: process.env.REPORT_SCREENSHOT, fullPage: true });
    await page.close();
  });

  it('shows in its summary table the seed means of results.csv and the intervals of summary.csv', async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(indexPath).href);
    const table = await page.$eval('#summary-table', (t) => ({
      head: Array.from(t.querySelectorAll('thead th'), (th) => th.getAttribute('data-metric') ?? th.textContent ?? ''),
      rows: Array.from(t.querySelectorAll('tbody tr'), (tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')),
    }));
    await page.close();

    const results = readCsv(join(resultsDir, 'ablation-tau', 'results.csv'));
    const summary = readCsv(join(resultsDir, 'ablation-tau', 'summary.csv'));
    const metricCols = Object.keys(results[0]!).slice(Object.keys(results[0]!).indexOf('seed') + 1);
    expect(table.head).toEqual(['dataset', 'loss', 'loss.params.tau', 'n', ...metricCols]);
    expect(table.rows).toHaveLength(datasets.length * losses.length * taus.length);

    let compared = 0;
    for (const row of table.rows) {
      const [dataset, loss, tau, n] = row;
      const members = results.filter((r) => r.dataset === dataset && r.loss === loss && Number(r['loss.params.tau']) === Number(tau));
      expect(members).toHaveLength(seeds.length);
      expect(Number(n)).toBe(seeds.length);
      metricCols.forEach((metric, j) => {
        const shown = parseShown(row[4 + j]!);
        const values = members.map((r) => Number(r[metric]));
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const allowed = 0.5 * 10 ** -shown.decimals + 1e-12;
        expect(Math.abs(shown.mean - mean), `${dataset}/${loss}/τ=${tau} ${metric}: shown ${shown.mean}, results.csv mean ${mean}`).toBeLessThanOrEqual(
          allowed,
        );
        const s = summary.find((r) => r.dataset === dataset && r.loss === loss && Number(r['loss.params.tau']) === Number(tau) && r.metric === metric)!;
        const half = (Number(s.ci95High) - Number(s.ci95Low)) / 2;
        expect(shown.half).not.toBeNull();
        expect(Math.abs(shown.half! - half), `${metric} CI half-width`).toBeLessThanOrEqual(allowed);
        compared++;
      });
    }
    expect(compared).toBe(table.rows.length * metricCols.length);
  });

  it('reaches the report from reports/index.html by its link', async () => {
    const page = await browser.newPage();
    const w = watch(page);
    const index = pathToFileURL(join(reportsDir, 'index.html')).href;
    await page.goto(index);
    await Promise.all([page.waitForURL(/ablation-tau\/index\.html$/), page.click('a:text-is("ablation-tau")')]);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 60_000 });
    expect(w.requests).toEqual([index, pathToFileURL(indexPath).href]);
    expect(w.errors).toEqual([]);
    await page.close();
  });
});
