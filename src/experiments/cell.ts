import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { foldView } from '../data/folds.js';
import { loadResolvedDataset } from '../data/index.js';
import { PKSampler } from '../data/sampler.js';
import type { LoadedDataset, Split } from '../data/types.js';
import type { LossRegistry } from '../losses/registry.js';
import type { LossPlugin } from '../losses/types.js';
import { batchAveragePrecision } from '../metrics/average-precision.js';
import { perClassMetrics, type PerClassMetrics } from '../metrics/per-class.js';
import { retrievalPerQuery } from '../metrics/retrieval.js';
import { exampleBatch } from './example-batch.js';
import type { RetrievalMetrics } from '../metrics/types.js';
import { train } from '../train/train.js';
import type { TrainConfig, TrainProgress } from '../train/types.js';
import { canonicalJson } from './canonical.js';
import { datasetLoadOptions } from './inputs.js';
import { evaluateProtocol } from './protocol-eval.js';
import type { ApEstimate, Cell, CellConfig, CellResult, NamedParams } from './types.js';

export interface CellContext {
  registry: LossRegistry;
  dataDir?: string;
  /** The experiment file's folder, for relative data paths. */
  baseDir?: string;
  /** Threads for the exact evaluation (1 in a --jobs child, where the cores are already shared). */
  evalWorkers?: number;
  onStep?: (p: TrainProgress) => void;
}

const datasetCache = new Map<string, Promise<LoadedDataset>>();

export interface DataLocation {
  dataDir?: string | undefined;
  baseDir?: string | undefined;
}

/** Loads a dataset once per process for each (name, parameters, seed, location): cells share it. */
export function loadDatasetCached(ds: NamedParams, seed: number, where: DataLocation = {}): Promise<LoadedDataset> {
  const key = canonicalJson({ ds, seed, dataDir: where.dataDir ?? null, baseDir: where.baseDir ?? null });
  let p = datasetCache.get(key);
  if (!p) {
    p = loadResolvedDataset(ds.name, ds.params, datasetLoadOptions(seed, where));
    // A failed load is not cached, so a fixed file can be retried in the same process.
    p.catch(() => datasetCache.delete(key));
    datasetCache.set(key, p);
  }
  return p;
}

/**
 * The data a cell trains and evaluates on: the dataset, or for a validation cell the fold view
 * of its train classes (see foldView), so the cell never reads the test split.
 */
export async function loadCellData(cfg: CellConfig, where: DataLocation = {}): Promise<LoadedDataset> {
  const data = await loadDatasetCached(cfg.dataset, cfg.seed, where);
  return cfg.validation ? foldView(data, cfg.validation) : data;
}

function trainConfig(cfg: CellConfig, iterations = cfg.train.iterations): TrainConfig {
  return { ...cfg.train, iterations, seed: cfg.seed };
}

/** The AP estimate is compared on test batches of the training B/P, sampled from their own seed. */
function estimateSeed(seed: number): number {
  return new Rng(seed ^ 0x5ca1ab1e).nextUint32();
}

/** `loss` is the training loss; a cell's `estimator` (checked at load to have apConvention) overrides it. */
function needsEstimate(cfg: CellConfig, loss: LossPlugin): boolean {
  return (cfg.estimator !== undefined || loss.apConvention !== undefined) && cfg.eval.estimateBatches > 0;
}

/** The plugin whose AP estimate a cell reports: its `estimator` when given, else the training loss. */
export function estimatorPlugin(cfg: CellConfig, registry: LossRegistry): LossPlugin {
  return registry.get((cfg.estimator ?? cfg.loss).name);
}

/**
 * Fails before any training when the PK sampler cannot form the cell's batches on a split
 * (too few classes for B/P, a class smaller than P): the sampler's own message, with the split.
 */
export function checkCellFits(cfg: CellConfig, data: LoadedDataset, loss: LossPlugin): void {
  const { batchSize: b, perClass: p, withReplacement } = cfg.train;
  const splits: Array<[string, Split]> = [];
  if (cfg.train.iterations > 0) splits.push(['train', data.train]);
  if (needsEstimate(cfg, loss)) splits.push(['test', data.test]);
  for (const [name, split] of splits) {
    try {
      new PKSampler(split.labels, b, p, 0, { withReplacement, ...(data.classNames ? { classNames: data.classNames } : {}) });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`dataset ${data.name} ${name} split: ${e.message}`);
    }
  }
}

function gather(x: Float32Array, d: number, idx: Int32Array, labels: Int32Array): { xb: Float32Array; yb: Int32Array } {
  const xb = new Float32Array(idx.length * d);
  const yb = new Int32Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    xb.set(x.subarray(idx[r]! * d, (idx[r]! + 1) * d), r * d);
    yb[r] = labels[idx[r]!]!;
  }
  return { xb, yb };
}

/**
 * The estimator's AP estimate beside the exact AP under the same query convention, over PK batches
 * of the test embeddings (the embedding is per row, so gathering rows of the embedded split
 * equals embedding the batch). Both means run over the same queries. `loss` is the plugin
 * named by cfg.estimator when the cell has one (estimatorPlugin), else the training loss.
 */
export function estimateAp(emb: Float32Array, e: number, test: Split, cfg: CellConfig, loss: LossPlugin): ApEstimate | null {
  const named = cfg.estimator ?? cfg.loss;
  if (loss.name !== named.name) throw new Error(`estimateAp: given plugin ${loss.name}, but the cell's estimator is ${named.name}`);
  if (!needsEstimate(cfg, loss)) return null;
  const params = named.params;
  if (!loss.apConvention) throw new Error(`loss ${loss.name} is the cell's estimator but declares no apConvention`);
  const { includeQuery } = loss.apConvention(params);
  const { batchSize: b, perClass: p, withReplacement } = cfg.train;
  const sampler = new PKSampler(test.labels, b, p, estimateSeed(cfg.seed), { withReplacement });
  const rng = new Rng(estimateSeed(cfg.seed) + 1);
  let est = 0;
  let exact = 0;
  let count = 0;
  for (let t = 0; t < cfg.eval.estimateBatches; t++) {
    const { xb, yb } = gather(emb, e, sampler.next(), test.labels);
    let ap: Float64Array | undefined;
    tf.tidy(() => {
      ap = loss.compute(tf.tensor2d(xb, [b, e]), yb, params, { rng, tf }).apPerQuery;
    });
    if (!ap) throw new Error(`loss ${loss.name} declares apConvention but its compute() returned no apPerQuery`);
    const truth = batchAveragePrecision(xb, b, e, yb, includeQuery);
    for (let q = 0; q < b; q++) {
      if (Number.isFinite(ap[q]!) && Number.isFinite(truth[q]!)) {
        est += ap[q]!;
        exact += truth[q]!;
        count++;
      }
    }
  }
  const estimate = count ? est / count : NaN;
  const trueAP = count ? exact / count : NaN;
  return { estimate, trueAP, gap: estimate - trueAP, includeQuery };
}

/** The test metrics under the cell's eval protocol (leave-one-out unless the cell says otherwise). */
async function evaluate(
  emb: Float32Array,
  model: { embed(s: Split): Float32Array },
  data: LoadedDataset,
  cfg: CellConfig,
  ctx: CellContext,
  experiment: string,
): Promise<RetrievalMetrics> {
  const input = { data, e: cfg.train.embeddingDim, test: emb, embed: (s: Split) => model.embed(s), seed: cfg.seed };
  try {
    return await evaluateProtocol(cfg.eval, ctx.evalWorkers === undefined ? input : { ...input, workers: ctx.evalWorkers });
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`experiment ${experiment}: ${e.message}`);
    throw e;
  }
}

/** Rows scaled to unit length (a zero row stays zero), so the dot product ranks by cosine. */
export function l2Normalized(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[i * d + j]! * x[i * d + j]!;
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j]! * inv;
  }
  return out;
}

const inputMetricsCache = new WeakMap<LoadedDataset, Map<string, Promise<RetrievalMetrics>>>();

/**
 * The dataset's own features, L2-normalised, under the cell's evaluation protocol: what
 * retrieval gives with no training at all. Shared by every cell on the same data and evaluation
 * settings (the seed only matters where the protocol draws galleries).
 */
function evaluateInputs(data: LoadedDataset, cfg: CellConfig, ctx: CellContext, experiment: string): Promise<RetrievalMetrics> {
  const perData = inputMetricsCache.get(data) ?? new Map<string, Promise<RetrievalMetrics>>();
  inputMetricsCache.set(data, perData);
  const key = canonicalJson({ eval: cfg.eval, seed: cfg.seed });
  let p = perData.get(key);
  if (!p) {
    const raw = { embed: (s: Split) => l2Normalized(s.x, s.n, s.dim) };
    const asInputs = { ...cfg, train: { ...cfg.train, embeddingDim: data.test.dim } };
    p = evaluate(raw.embed(data.test), raw, data, asInputs, ctx, experiment);
    p.catch(() => perData.delete(key));
    perData.set(key, p);
  }
  return p;
}

/** Runs one cell: untrained and trained retrieval metrics on the test split, and the AP estimate. */
export async function runCell(cell: Cell, experiment: string, ctx: CellContext): Promise<CellResult> {
  const startedAt = new Date().toISOString();
  const cfg = cell.config;
  const loss = ctx.registry.get(cfg.loss.name);
  const data = await loadCellData(cfg, ctx);
  checkCellFits(cfg, data, loss);
  const e = cfg.train.embeddingDim;
  const input = await evaluateInputs(data, cfg, ctx, experiment);

  const initial = await train(trainConfig(cfg, 0), data, loss, cfg.loss.params);
  let untrained: RetrievalMetrics;
  try {
    untrained = await evaluate(initial.embed(data.test), initial, data, cfg, ctx, experiment);
  } finally {
    initial.dispose();
  }

  const trainOpts = ctx.onStep ? { onStep: ctx.onStep } : {};
  const model = await train(trainConfig(cfg), data, loss, cfg.loss.params, trainOpts);
  try {
    const emb = model.embed(data.test);
    const metrics = await evaluate(emb, model, data, cfg, ctx, experiment);
    let perClass: PerClassMetrics[] | undefined;
    if (cfg.eval.classReport) {
      const opts = ctx.evalWorkers !== undefined ? { workers: ctx.evalWorkers } : {};
      perClass = perClassMetrics((await retrievalPerQuery(emb, data.test.n, e, data.test.labels, opts)).perQuery, data.test.labels, data.classNames);
    }
    const apEstimate = estimateAp(emb, e, data.test, cfg, estimatorPlugin(cfg, ctx.registry));
    return {
      id: cell.id,
      experiment,
      config: cfg,
      configId: cell.configId,
      inputs: cell.inputs,
      swept: cell.swept,
      dataset: cfg.dataset.name,
      loss: cfg.loss.name,
      seed: cfg.seed,
      metrics,
      untrained,
      input,
      apEstimate,
      ...(perClass ? { perClass } : {}),
      // A cell with an AP estimate keeps one small test batch for the report's explorer.
      ...(apEstimate ? { exampleBatch: exampleBatch(emb, e, data.test, cfg) } : {}),
      curve: model.curve,
      trainMs: model.trainMs,
      startedAt,
      finishedAt: new Date().toISOString(),
    };
  } finally {
    model.dispose();
  }
}
