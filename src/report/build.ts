import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { UserError, show } from '../core/errors.js';
import { lossSpecsOf, type LossSpecs } from '../experiments/contract.js';
import { loadLossRegistry } from '../losses/index.js';
import { worseThanInputs } from '../experiments/input-baseline.js';
import { vegaBundles } from './bundles.js';
import { indexHtml, reportHtml, type IndexEntry } from './html.js';
import { readExperimentResults, type ExperimentResults } from './read-results.js';
import { renderSvg } from './render-svg.js';
import { reproduceCommand } from './reproduce.js';
import { CLAIM_CHART, claimCharts } from './claim-charts.js';
import { explorerData, explorerHtml } from './explorer.js';
import { findingsHtml, findingsOf } from './findings.js';
import { buildChartSpecs, CHART_NAMES } from './specs.js';
import { summaryTable } from './summary-table.js';
import { withTuningSection } from '../tuning/report.js';

export interface BuildReportOptions {
  resultsDir: string;
  reportsDir: string;
  /** Also write <chart>.png beside each SVG (resvg; for READMEs). */
  png?: boolean;
  /** `--plugin` files: their losses' parameter columns are read with the plugins' specs, not as text. */
  plugins?: readonly string[];
  /** The losses whose specs type the parameter columns, instead of the built-ins and `plugins` (a library caller's own). */
  losses?: LossSpecs;
}

export interface BuildReportResult {
  indexPath: string;
  /** Paths of the Vega-Lite specs written (<chart>.vl.json; the SVG sits beside each). */
  charts: string[];
  /** Vega-Lite / Vega warnings met while rendering the SVGs. */
  warnings: string[];
}

/** The summary that reports/index.html lists for each experiment. */
const META_FILE = 'report.json';

/** An experiment name becomes a folder name: it must not climb out of results/ or reports/. */
export function checkExperimentName(experiment: string): void {
  if (experiment === '' || experiment === '.' || experiment === '..' || /[/\\\0]/.test(experiment)) {
    throw new UserError(`experiment name ${show(experiment)} is not allowed: use the name of a folder under results/ (no path separators)`);
  }
}

function distinct(values: unknown[]): string[] {
  return [...new Set(values.map(String))];
}

function subtitle(exp: ExperimentResults): string {
  const seeds = distinct(exp.results.map((r) => r.seed));
  const parts = [
    `${exp.results.length} cells`,
    `datasets: ${distinct(exp.results.map((r) => r.dataset)).join(', ')}`,
    `losses: ${distinct(exp.results.map((r) => r.loss)).join(', ')}`,
    `swept: ${exp.swept.join(', ') || 'nothing'}`,
    `seeds: ${seeds.join(', ')}`,
    // Results written before these columns existed were all leave-one-out, dot, per query.
    `evaluation: ${distinct(exp.results.map((r) => r.protocol ?? 'leave-one-out')).join(' / ')}, ${distinct(exp.results.map((r) => r.similarity ?? 'dot')).join(' / ')} similarity, averaged per ${distinct(exp.results.map((r) => r.averaging ?? 'query')).join(' / ')}`,
  ];
  const finished = exp.manifest?.finishedAt;
  if (typeof finished === 'string') parts.push(`finished ${finished}`);
  return parts.join(' · ');
}

function skippedNotes(exp: ExperimentResults, drawn: Set<string>): string[] {
  const notes: string[] = [];
  if (!drawn.has('metrics')) notes.push('retrieval metrics (summary.csv has no retrieval metric with a value)');
  if (!drawn.has('ap-estimate')) notes.push('estimated vs true AP (no loss in these results reports an AP estimate)');
  if (!drawn.has('training-curves')) {
    notes.push(exp.cells.length ? 'training curves (the cell files hold no curve)' : 'training curves (no cells/*.json for the cells of results.csv)');
  }
  return notes;
}

async function writePng(svg: string, path: string): Promise<void> {
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, { font: { sansSerifFamily: 'DejaVu Sans', loadSystemFonts: true }, background: 'white' }).render().asPng();
  writeFileAtomic(path, png);
}

/**
 * Builds reports/<experiment>/ from results/<experiment>/: one Vega-Lite spec and static SVG per
 * chart the data supports, and index.html, a page that works offline (libraries, specs and data
 * inlined). Charts whose data is absent are skipped and their stale files removed.
 */
export async function buildReport(experiment: string, opts: BuildReportOptions): Promise<BuildReportResult> {
  checkExperimentName(experiment);
  const exp = readExperimentResults(experiment, opts.resultsDir, opts.losses ?? lossSpecsOf((await loadLossRegistry(opts.plugins)).all()));
  const outDir = join(opts.reportsDir, experiment);
  const findings = findingsOf(exp);
  const answers = claimCharts(findings.claims, findings.results, exp.manifest);
  // The charts that answer the experiment's claims lead; the general ones follow.
  const charts = [...answers, ...buildChartSpecs(exp)];
  const written: string[] = [];
  const warnings: string[] = [];
  for (const chart of charts) {
    const specPath = join(outDir, `${chart.name}.vl.json`);
    writeFileAtomic(specPath, JSON.stringify(chart.spec, null, 2) + '\n');
    const rendered = await renderSvg(chart.spec);
    warnings.push(...rendered.warnings.map((w) => `${chart.name}: ${w}`));
    writeFileAtomic(join(outDir, `${chart.name}.svg`), rendered.svg);
    if (opts.png) await writePng(rendered.svg, join(outDir, `${chart.name}.png`));
    written.push(specPath);
  }
  const drawn = new Set(charts.map((c) => c.name));
  for (const name of CHART_NAMES.filter((n) => !drawn.has(n))) {
    for (const ext of ['.vl.json', '.svg', '.png']) rmSync(join(outDir, name + ext), { force: true });
  }
  for (const f of existsSync(outDir) ? readdirSync(outDir) : []) {
    const stem = f.replace(/\.(vl\.json|svg|png)$/, '');
    if (stem !== f && CLAIM_CHART.test(stem) && !drawn.has(stem)) rmSync(join(outDir, f), { force: true });
  }
  const { resolved, ...manifestRest } = exp.manifest ?? {};
  const html = reportHtml({
    experiment,
    subtitle: subtitle(exp),
    command: reproduceCommand(experiment, exp.manifest?.command),
    charts,
    findings: findingsHtml(findings, (i) => {
      const c = answers.find((a) => a.claim === i);
      return c ? `chart-${c.name}` : null;
    }),
    explorer: ((x) => (x ? explorerHtml(x) : ''))(explorerData(exp)),
    skipped: skippedNotes(exp, drawn),
    notes: worseThanInputs({ rows: exp.summary }, exp.swept).map((w) => `Warning: ${w}.`),
    table: summaryTable(exp),
    resolved: resolved ?? null,
    manifest: exp.manifest ? manifestRest : null,
    bundles: vegaBundles(),
  });
  const indexPath = join(outDir, 'index.html');
  writeFileAtomic(indexPath, withTuningSection(html, opts.resultsDir, experiment));
  const meta: IndexEntry = {
    experiment,
    folder: experiment,
    cells: exp.results.length,
    datasets: distinct(exp.results.map((r) => r.dataset)),
    losses: distinct(exp.results.map((r) => r.loss)),
    swept: exp.swept,
    finishedAt: typeof exp.manifest?.finishedAt === 'string' ? exp.manifest.finishedAt : null,
    ...(findings.results.length ? { verdicts: countVerdicts(findings.results.map((r) => r.verdict)) } : {}),
  };
  writeFileAtomic(join(outDir, META_FILE), JSON.stringify(meta, null, 2) + '\n');
  return { indexPath, charts: written, warnings };
}

function countVerdicts(verdicts: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of verdicts) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function readMeta(dir: string, folder: string): IndexEntry {
  const fallback: IndexEntry = { experiment: folder, folder, cells: null, datasets: [], losses: [], swept: [], finishedAt: null };
  try {
    const m = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as Partial<IndexEntry>;
    const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
    return {
      experiment: typeof m.experiment === 'string' ? m.experiment : folder,
      folder,
      cells: typeof m.cells === 'number' ? m.cells : null,
      datasets: list(m.datasets),
      losses: list(m.losses),
      swept: list(m.swept),
      finishedAt: typeof m.finishedAt === 'string' ? m.finishedAt : null,
      ...(m.verdicts && typeof m.verdicts === 'object'
        ? { verdicts: Object.fromEntries(Object.entries(m.verdicts).filter(([, n]) => typeof n === 'number')) }
        : {}),
    };
  } catch {
    return fallback;
  }
}

/** Writes reports/index.html linking every reports/<experiment>/index.html present. */
export function buildReportIndex(reportsDir: string): string {
  const entries: IndexEntry[] = [];
  if (existsSync(reportsDir)) {
    for (const folder of readdirSync(reportsDir).sort()) {
      const dir = join(reportsDir, folder);
      if (!statSync(dir).isDirectory() || !existsSync(join(dir, 'index.html'))) continue;
      entries.push(readMeta(dir, folder));
    }
  }
  const path = join(reportsDir, 'index.html');
  writeFileAtomic(path, indexHtml(entries));
  return path;
}

/** Experiments under resultsDir that have a results.csv (what `bench report` builds by default). */
export function experimentsWithResults(resultsDir: string): string[] {
  if (!existsSync(resultsDir)) return [];
  return readdirSync(resultsDir)
    .filter((f) => existsSync(join(resultsDir, f, 'results.csv')))
    .sort();
}
