import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { buildReport, buildReportIndex } from '../../src/report/build.js';
import { escapeHtml, jsonForScript, scriptSafe, shellQuote } from '../../src/report/escape.js';
import { reproduceCommand, splitCommandLine } from '../../src/report/reproduce.js';
import { writeFixture } from './fixture.js';

const root = mkdtempSync(join(tmpdir(), 'rankbench-html-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const EVIL_LOSS = '<script>alert(1)</script>';
const EVIL_VALUE = '"><img src=x onerror=alert(2)>';
const EVIL_DATASET = 'a&b "q" \'s\'';

/** The page with the inlined library bundles cut out: what the report itself wrote. */
function ownMarkup(html: string): string {
  return html.replace(/<script data-library="[^"]*" data-version="[^"]*">[\s\S]*?<\/script>/g, '<script data-library></script>');
}

describe('escaping helpers', () => {
  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('writes JSON that cannot end a script element and parses back unchanged', () => {
    const value = { loss: '</script><script>alert(1)</script>', c: '<!-- x -->', ls: 'a\u2028b\u2029c', n: [1, 0.5] };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/</);
    expect(text).not.toMatch(/[\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('neutralises </script in inlined library code without changing what the code means', () => {
    const src = 'var s = "</script>"; var r = /<\\/SCRIPT>/.source; var t = `</Script ${1}`; [s, r, t]';
    const safe = scriptSafe(src);
    expect(safe).not.toMatch(/<\/script/i);
    expect(new Function(`return ${safe.replace(/^var s = /, '(function(){var s = ').replace(/\[s, r, t\]$/, 'return [s, r, t]})()')}`)()).toEqual([
      '</script>',
      '<\\/SCRIPT>',
      '</Script 1',
    ]);
  });

  it('quotes shell arguments only when needed', () => {
    expect(shellQuote('loss.params.tau=0.01')).toBe('loss.params.tau=0.01');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('a b')).toBe(`'a b'`);
    expect(shellQuote('')).toBe(`''`);
  });
});

describe('reproduce command', () => {
  it('splits a recorded command line as a shell would', () => {
    expect(splitCommandLine(`bench run x --set 'loss.name=my loss' --set a="b c" d\\ e`)).toEqual([
      'bench',
      'run',
      'x',
      '--set',
      'loss.name=my loss',
      '--set',
      'a=b c',
      'd e',
    ]);
  });

  it('keeps the global options and overrides, drops --force, from a string or an argv array', () => {
    expect(reproduceCommand('ablation-tau', 'bench run ablation-tau --seeds 1,2,3 --force')).toBe('npx bench run ablation-tau --seeds 1,2,3');
    expect(
      reproduceCommand('ablation-tau', [
        '/usr/bin/node',
        '/w/dist/cli/main.js',
        '--backend',
        'cpu',
        'run',
        'experiments/ablation-tau.yaml',
        '--set',
        'train.lr=0.01',
        '--only',
        'loss.params.tau=0.01',
      ]),
    ).toBe('npx bench --backend cpu run experiments/ablation-tau.yaml --set train.lr=0.01 --only loss.params.tau=0.01');
    expect(reproduceCommand('x', ['node', 'main.js', 'run', 'x', '--set', "loss.name=it's"])).toBe(`npx bench run x --set 'loss.name=it'\\''s'`);
    expect(reproduceCommand('ci', undefined)).toBe('npx bench run ci');
  });
});

describe('report page', () => {
  const resultsDir = join(root, 'results');
  const reportsDir = join(root, 'reports');
  writeFixture(resultsDir);
  writeFixture(resultsDir, {
    experiment: 'evil',
    // Losses of --plugin files the report has not loaded: their parameters read as text, any text.
    losses: ['my-triplet', EVIL_LOSS],
    datasets: [EVIL_DATASET],
    swept: { column: 'loss.params.mining', values: ['semihard', EVIL_VALUE] },
    estimates: () => false,
    command: `bench run evil --set 'loss.name=${EVIL_LOSS}'`,
  });

  it('shows every user-supplied string as text, never as markup', async () => {
    const { indexPath, charts } = await buildReport('evil', { resultsDir, reportsDir });
    const html = ownMarkup(readFileSync(indexPath, 'utf8'));
    expect(html).not.toContain(EVIL_LOSS);
    expect(html).not.toContain(EVIL_VALUE);
    expect(html).not.toContain(EVIL_DATASET);
    expect(html).toContain('<td data-column="loss">&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(html).toContain(`<td data-column="loss.params.mining">${escapeHtml(EVIL_VALUE)}</td>`);
    expect(html).toContain(`<td data-column="dataset">a&amp;b &quot;q&quot; &#39;s&#39;</td>`);
    // The only script elements: 3 libraries, one JSON spec per chart, the render script.
    expect(html.match(/<script\b/gi)).toHaveLength(3 + charts.length + 1);
    expect(html).toContain(escapeHtml(`npx bench run evil --set 'loss.name=${EVIL_LOSS}'`));
    // The inlined spec still carries the real names, for vega to draw as text.
    const spec = JSON.parse(/<script type="application\/json" id="spec-metrics">([\s\S]*?)<\/script>/.exec(html)![1]!) as {
      data: { values: { series: string }[] };
    };
    expect(new Set(spec.data.values.map((v) => v.series))).toEqual(new Set(['my-triplet', EVIL_LOSS]));
  });

  it('is self-contained: no src/href anywhere, no address outside the library code, libraries inlined', async () => {
    const { indexPath } = await buildReport('ablation-tau', { resultsDir, reportsDir });
    const full = readFileSync(indexPath, 'utf8');
    const html = ownMarkup(full);
    expect(html).not.toMatch(/<script[^>]*\ssrc\s*=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\s(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;/);
    for (const lib of ['vega', 'vega-lite', 'vega-embed']) {
      const pkg = JSON.parse(readFileSync(join('node_modules', lib, 'package.json'), 'utf8')) as { version: string };
      const bundle = readFileSync(join('node_modules', lib, 'build', `${lib}.min.js`), 'utf8');
      expect(full).toContain(`<script data-library="${lib}" data-version="${pkg.version}">`);
      expect(full).toContain(scriptSafe(bundle));
    }
    // vega-embed is told to load nothing and to show no link-bearing action menu.
    expect(full).toContain("{ mode: 'vega-lite', renderer: 'svg', actions: false }");
    expect(html).toContain('<pre id="command"><code>npx bench run ablation-tau --seeds 1,2,3</code></pre>');
    expect(html).toContain('&quot;batchSize&quot;: 64');
  });

  it('writes each chart as a Vega-Lite spec plus a static SVG, atomically', async () => {
    const { charts } = await buildReport('ablation-tau', { resultsDir, reportsDir });
    const dir = join(reportsDir, 'ablation-tau');
    expect(charts).toEqual(['metrics', 'ap-estimate', 'training-curves'].map((n) => join(dir, `${n}.vl.json`)));
    for (const c of charts) {
      expect((JSON.parse(readFileSync(c, 'utf8')) as { $schema: string }).$schema).toMatch(/vega-lite\/v6\.json$/);
      expect(readFileSync(c.replace(/\.vl\.json$/, '.svg'), 'utf8')).toMatch(/^<svg[\s\S]*class="mark-line role-mark/);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('removes the files of a chart that the new results no longer support', async () => {
    const dir = join(root, 'stale');
    writeFixture(dir, { experiment: 'x' });
    await buildReport('x', { resultsDir: dir, reportsDir: join(dir, 'out') });
    expect(existsSync(join(dir, 'out', 'x', 'ap-estimate.svg'))).toBe(true);
    writeFixture(dir, { experiment: 'x', losses: ['triplet'], estimates: () => false });
    await buildReport('x', { resultsDir: dir, reportsDir: join(dir, 'out') });
    expect(existsSync(join(dir, 'out', 'x', 'ap-estimate.svg'))).toBe(false);
    expect(existsSync(join(dir, 'out', 'x', 'ap-estimate.vl.json'))).toBe(false);
    expect(readFileSync(join(dir, 'out', 'x', 'index.html'), 'utf8')).toContain(
      'Not drawn: estimated vs true AP (no loss in these results reports an AP estimate)',
    );
  });

  it('links every experiment report from reports/index.html', async () => {
    await buildReport('ablation-tau', { resultsDir, reportsDir });
    await buildReport('evil', { resultsDir, reportsDir });
    const path = buildReportIndex(reportsDir);
    expect(path).toBe(join(reportsDir, 'index.html'));
    const html = readFileSync(path, 'utf8');
    const links = [...html.matchAll(/<a href="([^"]+)">([^<]*)<\/a>/g)].map((m) => [m[1], m[2]]);
    expect(links).toEqual([
      ['ablation-tau/index.html', 'ablation-tau'],
      ['evil/index.html', 'evil'],
    ]);
    for (const [href] of links) expect(existsSync(join(reportsDir, href!))).toBe(true);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain(EVIL_LOSS);
    expect(html).toMatch(/<td class="num">36<\/td>/);
  });
});

describe('bad input', () => {
  it('names the experiment and the path when results are missing', async () => {
    const dir = join(root, 'empty');
    const err = await buildReport('nope', { resultsDir: dir, reportsDir: join(root, 'r') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`no results for experiment "nope": ${join(dir, 'nope', 'results.csv')} does not exist (run \`bench run nope\` first)`);
  });

  it('refuses an experiment name that would leave the results folder', async () => {
    await expect(buildReport('../etc', { resultsDir: root, reportsDir: root })).rejects.toThrow(/experiment name "\.\.\/etc" is not allowed/);
  });

  it('names the file and the column when a CSV lacks a pinned column', async () => {
    const dir = join(root, 'broken');
    const fx = writeFixture(dir, { experiment: 'b' });
    const summary = readFileSync(join(fx.dir, 'summary.csv'), 'utf8').replace(/^(.*),ci95High/, '$1,upper');
    writeFileSync(join(fx.dir, 'summary.csv'), summary);
    await expect(buildReport('b', { resultsDir: dir, reportsDir: join(dir, 'out') })).rejects.toThrow(
      new RegExp(`summary\\.csv: missing column "ci95High"; header is experiment,dataset,loss,loss\\.params\\.tau,metric,mean,std,n,ci95Low,upper`),
    );
  });

  it('names the manifest when it is not JSON', async () => {
    const dir = join(root, 'badmanifest');
    const fx = writeFixture(dir, { experiment: 'm' });
    writeFileSync(join(fx.dir, 'manifest.json'), '{"experiment": ');
    await expect(buildReport('m', { resultsDir: dir, reportsDir: join(dir, 'out') })).rejects.toThrow(/manifest\.json: not a valid manifest/);
  });
});
