import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/index.js';
import { UserError } from '../core/errors.js';
import { resolveParams } from '../core/params.js';
import { Rng } from '../core/rng.js';
import type { LoadedDataset } from '../data/types.js';
import { referenceComputes } from '../losses/reference/index.js';
import type { LossRegistry } from '../losses/registry.js';
import { evaluateQueryGallery, evaluateRetrieval } from '../metrics/retrieval.js';
import { DEFAULT_TRAIN_CONFIG } from '../train/config.js';
import { train } from '../train/train.js';
import { blockLabels, randomUnitRows, roundRobinLabels } from './inputs.js';
import { measure, type MeasureOptions, type PerfRecord } from './measure.js';

export const SUITES = ['losses', 'eval', 'train'] as const;
export type Suite = (typeof SUITES)[number];

export const DEFAULT_SIZES: Record<Suite, number[]> = {
  losses: [64, 224, 448, 1024, 2048],
  eval: [10_000, 60_000],
  train: [224],
};

export interface SuiteContext {
  registry: LossRegistry;
  sizes?: number[];
  /** Backends the tensor formulations are measured on. */
  tensorBackends: string[];
  emit: (r: PerfRecord) => void;
  /** Progress for a person watching; silent in CI. */
  note: (s: string) => void;
}

const D_LOSS = 512;
const P = 4;
/** Time spent repeating one tensor case; and a larger B is not tried when the B³ cost predicts more than this (cpu at B=448 would take minutes). */
const TENSOR_BUDGET_MS = 8_000;
const TENSOR_PREDICTED_MAX_MS = 60_000;
/**
 * The B×B×B float32 tensors of the paper's formulation: stop before they cannot be allocated.
 * The wasm heap stops at 4 GiB and its allocator corrupts itself rather than throwing cleanly
 * when several cubes exceed it (measured: B=448 fails), so wasm gets a lower bound.
 */
const TENSOR_MAX_CUBE_BYTES: Record<string, number> = { wasm: 256 * 2 ** 20, default: 1.5 * 2 ** 30 };

const quick = (budgetMs: number): MeasureOptions => ({ warmup: 1, repeats: 7, budgetMs });

export async function fusedLossCases(ctx: SuiteContext): Promise<void> {
  const sizes = ctx.sizes ?? DEFAULT_SIZES.losses;
  for (const plugin of ctx.registry.all()) {
    const params = resolveParams(plugin.params, {}, `loss ${plugin.name}`);
    if (plugin.kernel) {
      for (const B of sizes) {
        ctx.note(`losses: ${plugin.name} fused B=${B}`);
        const x = randomUnitRows(B, D_LOSS, 1);
        const labels = blockLabels(B, P);
        const rng = new Rng(0);
        const kernel = plugin.kernel;
        const t = await measure(() => kernel(x, B, D_LOSS, labels, params, { rng }), { warmup: 5, repeats: 41, budgetMs: 5_000 });
        ctx.emit({ suite: 'losses', name: plugin.name, impl: 'fused', backend: 'js', B, D: D_LOSS, P, ...t });
      }
    }
  }
}

export async function tensorLossCases(ctx: SuiteContext): Promise<void> {
  const sizes = ctx.sizes ?? DEFAULT_SIZES.losses;
  for (const plugin of ctx.registry.all()) {
    const params = resolveParams(plugin.params, {}, `loss ${plugin.name}`);
    const reference = referenceComputes[plugin.name];
    const impls: Array<[string, typeof plugin.compute]> = [];
    if (reference) impls.push(['tensor', reference]);
    if (!plugin.kernel) impls.push(['compute', plugin.compute]);
    for (const [impl, compute] of impls) {
      for (const backend of ctx.tensorBackends) {
        await selectBackend(backend);
        let tooSlow = '';
        for (const B of sizes) {
          const base = { suite: 'losses', name: plugin.name, impl, backend, B, D: D_LOSS, P };
          const cube = 4 * B ** 3;
          if (impl === 'tensor' && cube > (TENSOR_MAX_CUBE_BYTES[backend] ?? TENSOR_MAX_CUBE_BYTES.default!)) {
            const size = cube >= 2 ** 30 ? `${(cube / 2 ** 30).toFixed(1)} GiB` : `${Math.round(cube / 2 ** 20)} MiB`;
            ctx.emit({ ...base, ...skipped(), error: `not run: one B×B×B float32 tensor is ${size}, more than the ${backend} backend can hold several of` });
            continue;
          }
          if (tooSlow) {
            ctx.emit({ ...base, ...skipped(), error: tooSlow });
            continue;
          }
          ctx.note(`losses: ${plugin.name} ${impl} on ${backend} B=${B}`);
          const x = tf.tensor2d(Float32Array.from(randomUnitRows(B, D_LOSS, 1)), [B, D_LOSS]);
          const labels = blockLabels(B, P);
          const rng = new Rng(0);
          const step = tf.valueAndGrad((e: tf.Tensor) => compute(e as tf.Tensor2D, labels, params, { rng, tf }).loss);
          try {
            const t = await measure(() => tf.tidy(() => {
              const { value, grad } = step(x);
              value.dataSync();
              grad.dataSync();
            }), quick(TENSOR_BUDGET_MS));
            ctx.emit({ ...base, ...t });
            const next = sizes[sizes.indexOf(B) + 1];
            if (next !== undefined && t.medianMs * (next / B) ** 3 > TENSOR_PREDICTED_MAX_MS) {
              tooSlow = `not run: B=${B} took ${(t.medianMs / 1000).toFixed(1)} s, B³ scaling predicts > ${TENSOR_PREDICTED_MAX_MS / 1000} s`;
            }
          } catch (e) {
            if (e instanceof UserError) throw e;
            ctx.emit({ ...base, ...skipped(), error: `failed: ${(e as Error).message.split('\n')[0]}` });
            tooSlow = `not run: B=${B} failed`;
          } finally {
            x.dispose();
          }
        }
      }
    }
  }
}

function skipped(): Pick<PerfRecord, 'medianMs' | 'minMs' | 'maxMs' | 'peakRssMb' | 'repeats'> {
  return { medianMs: NaN, minMs: NaN, maxMs: NaN, peakRssMb: NaN, repeats: 0 };
}

export async function evalSuite(ctx: SuiteContext): Promise<void> {
  const D = 128;
  for (const N of ctx.sizes ?? DEFAULT_SIZES.eval) {
    ctx.note(`eval: N=${N} D=${D}`);
    const x = randomUnitRows(N, D, 2);
    const labels = roundRobinLabels(N, 1000);
    const k = [1, 10, 100, 1000].filter((v) => v < N);
    const t = await measure(() => evaluateRetrieval(x, N, D, labels, { k }), { warmup: N > 20_000 ? 0 : 1, repeats: 3, budgetMs: 60_000 });
    ctx.emit({ suite: 'eval', name: 'exact-retrieval', impl: 'blocked', backend: 'js', N, D, ...t });
    // N queries against a separate gallery of N (the same work as leave-one-out, two sets of rows).
    ctx.note(`eval: query-gallery N=${N}×${N} D=${D}`);
    const g = randomUnitRows(N, D, 4);
    const qg = await measure(() => evaluateQueryGallery({ x, n: N, labels }, { x: g, n: N, labels }, D, { k }), {
      warmup: N > 20_000 ? 0 : 1, repeats: 3, budgetMs: 60_000,
    });
    ctx.emit({ suite: 'eval', name: 'exact-retrieval-query-gallery', impl: 'blocked', backend: 'js', N, D, ...qg });
  }
}

/** A dataset of random unit features (784 = MNIST's pixels), class blocks, in memory. */
function perfDataset(n: number, dim: number, classes: number): LoadedDataset {
  const x = Float32Array.from(randomUnitRows(n, dim, 3));
  const split = { x, n, dim, labels: roundRobinLabels(n, classes) };
  return { name: 'perf-random', train: split, test: split, splitKind: 'closed-set' };
}

export async function trainSuite(ctx: SuiteContext): Promise<void> {
  const data = perfDataset(4_000, 784, 200);
  const steps = 25;
  for (const B of ctx.sizes ?? DEFAULT_SIZES.train) {
    for (const backend of ctx.tensorBackends) {
      await selectBackend(backend);
      for (const plugin of ctx.registry.all()) {
        ctx.note(`train: mlp 784→256→128 + ${plugin.name} on ${backend} B=${B}`);
        const params = resolveParams(plugin.params, {}, `loss ${plugin.name}`);
        const cfg = { ...DEFAULT_TRAIN_CONFIG, model: 'mlp' as const, hidden: 256, embeddingDim: 128, batchSize: B, perClass: P, iterations: steps, logEvery: steps };
        const stamps: number[] = [];
        let peak = 0;
        await train(cfg, data, plugin, params, {
          onStep: () => {
            stamps.push(performance.now());
            peak = Math.max(peak, process.memoryUsage().rss);
          },
        }).then((m) => m.dispose());
        // Step times from consecutive step callbacks, after the first few (warm-up, tracing).
        const times = stamps.slice(1).map((t, i) => t - stamps[i]!).slice(3).sort((a, b) => a - b);
        if (!times.length) continue;
        const r2 = (v: number): number => Math.round(v * 100) / 100;
        ctx.emit({
          suite: 'train', name: `mlp+${plugin.name}`, impl: 'adam-step', backend, B, D: 128, P,
          medianMs: r2(times[times.length >> 1]!), minMs: r2(times[0]!), maxMs: r2(times[times.length - 1]!),
          peakRssMb: Math.round(peak / 2 ** 20), repeats: times.length,
        });
      }
    }
  }
}
