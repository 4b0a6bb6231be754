import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/index.js';
import { UserError } from '../core/errors.js';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveParams, type Params } from '../core/params.js';
import { Rng } from '../core/rng.js';
import type { LoadedDataset } from '../data/types.js';
import { referenceComputes } from '../losses/reference/index.js';
import type { LossRegistry } from '../losses/registry.js';
import type { LossKernel, LossPlugin } from '../losses/types.js';
import { evaluateQueryGallery, evaluateRetrieval } from '../metrics/retrieval.js';
import { DEFAULT_TRAIN_CONFIG } from '../train/config.js';
import { train } from '../train/train.js';
import { blockLabels, randomUnitRows, roundRobinLabels } from './inputs.js';
import { measure, roundMs, speedupOver, summarize, timeRepeats, type MeasureOptions, type PerfRecord } from './measure.js';
import type { PeerAnswer, TorchPeer } from './peers.js';
import { runFaissPeer } from './faiss-peer.js';
import type { RetrievalMetrics } from '../metrics/types.js';

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
  /** PyTorch peers, timed in rounds alternating with each fused case they have a peer for (`--peer torch`). */
  peer?: TorchPeer;
  /** Where the peer reads each batch from. */
  scratchDir?: string;
  /** A python3 with faiss: the evaluation is followed by faiss's exact top-k search on the same rows (`--peer faiss`). */
  faissPython?: string;
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

/** The peers' settings: float32 PyTorch on 2 threads (this project's reference machine), up to 30 repeats in 10 s. */
const PEER_THREADS = 2;
const PEER_BUDGET_MS = 10_000;

/** The fused kernels are measured with both product precisions; 'fused' keeps its meaning (float64). */
const FUSED_PRECISIONS: Array<[string, 'float64' | 'float32']> = [
  ['fused', 'float64'],
  ['fused-f32', 'float32'],
];

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
        // float64 products (`bench loss`, the parity tests) and float32 ones (what training runs).
        // The gradient goes to a reused buffer, as training's fusedCompute passes one.
        const gradOut = new Float64Array(B * D_LOSS);
        const cases = FUSED_PRECISIONS.map(([impl, precision]) => ({
          impl,
          run: () => kernel(x, B, D_LOSS, labels, params, { rng, precision, gradOut }),
          times: [] as number[],
          peak: 0,
        }));
        const peer = ctx.peer?.peers[plugin.name] ? ctx.peer : undefined;
        const peerRounds = peer ? startPeer(ctx, peer, plugin.name, kernel, params, x, labels) : null;
        // With a peer, ours and the peer's repeats alternate in ROUNDS rounds, so both sides are
        // timed under the same load (on a shared machine the load drifts within seconds, and one
        // side timed in a quiet moment and the other in a busy one gave ratios 3× apart).
        const rounds = peerRounds ? ROUNDS : 1;
        const peerTimes: number[] = [];
        let peerError = '';
        let peerLoss = NaN;
        let peerSpent = 0;
        (globalThis as { gc?: () => void }).gc?.();
        for (let round = 0; round < rounds; round++) {
          for (const c of cases) {
            const t = await timeRepeats(c.run, {
              warmup: round === 0 ? FUSED_WARMUP : 0,
              repeats: Math.ceil(FUSED_REPEATS / rounds),
              budgetMs: FUSED_BUDGET_MS / rounds,
            });
            c.times.push(...t.times);
            c.peak = Math.max(c.peak, t.peakRss);
          }
          // A slow peer (seconds a repeat) stops once its whole budget is spent, as before rounds.
          if (peerRounds && !peerError && peerSpent < PEER_BUDGET_MS) {
            const answer = await peerRounds(round);
            if (!answer.ok) peerError = answer.error;
            else {
              peerTimes.push(...answer.timesMs);
              peerSpent += answer.timesMs.reduce((a, b) => a + b, 0);
              if (answer.peerLoss !== null) peerLoss = answer.peerLoss;
            }
          }
        }
        const rows = cases.map((c) => ({ suite: 'losses', name: plugin.name, impl: c.impl, backend: 'js', B, D: D_LOSS, P, ...summarize(c.times, c.peak) }));
        for (const r of rows) ctx.emit(r);
        if (peer) emitPeer(ctx, peer, plugin.name, B, peerError, peerTimes, peerLoss, rows);
      }
    }
  }
}

/** Rounds a fused case with a peer is measured in (ours, then the peer's, in each). */
const ROUNDS = 6;
/** Our repeats in all, and the time they may take, per precision. */
const FUSED_WARMUP = 5;
const FUSED_REPEATS = 42;
const FUSED_BUDGET_MS = 5_000;
/** The peer's repeats in all (PEER_BUDGET_MS bounds their time). */
const PEER_REPEATS = 30;

/** One round of the peer's repeats: the first also checks its loss against ours and warms up. */
type PeerRounds = (round: number) => Promise<PeerAnswer>;

/**
 * Prepares the PyTorch peer of one fused case on the same batch: computes our loss for its
 * agreement check and writes the batch where the peer reads it.
 */
function startPeer(ctx: SuiteContext, peer: TorchPeer, name: string, kernel: LossKernel, params: Params, x: Float64Array, labels: Int32Array): PeerRounds {
  const B = labels.length;
  ctx.note(`losses: ${name} peer torch B=${B}`);
  const checkParams = { ...params, ...peer.peers[name]!.check } as Params;
  const expect = kernel(x, B, D_LOSS, labels, checkParams, { rng: new Rng(0) }).loss;
  const file = join(ctx.scratchDir ?? tmpdir(), `batch-${B}.f64`);
  writeFileSync(file, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const request = {
    loss: name,
    B,
    D: D_LOSS,
    labels: Array.from(labels),
    x: file,
    params,
    checkParams,
    expect,
    repeats: Math.ceil(PEER_REPEATS / ROUNDS),
    budgetMs: PEER_BUDGET_MS / ROUNDS,
    threads: PEER_THREADS,
  };
  return (round) => peer.run(round === 0 ? request : { ...request, timeOnly: true });
}

/** The peer's row: its pooled repeats, and the ratio against our float32 row (the float64 one in the note). */
function emitPeer(ctx: SuiteContext, peer: TorchPeer, name: string, B: number, error: string, times: number[], peerLoss: number, ours: PerfRecord[]): void {
  const base = { suite: 'losses', name, impl: 'peer', backend: 'torch', B, D: D_LOSS, P };
  if (error || times.length === 0) {
    ctx.emit({ ...base, ...skipped(), error: error || 'the peer returned no repeats' });
    return;
  }
  const t = summarize(times, NaN);
  const ratio = (r: PerfRecord): number => speedupOver(t.medianMs, r.medianMs);
  const f32 = ours.find((r) => r.impl === 'fused-f32') ?? ours[0]!;
  const f64 = ours.find((r) => r.impl === 'fused') ?? ours[0]!;
  const speedup = ratio(f32);
  ctx.emit({
    ...base,
    ...t,
    speedup,
    error: `${peer.peers[name]!.peer}; same loss as ours (${peerLoss.toPrecision(6)}); ours ${speedup}× faster (float64: ${ratio(f64)}×); ${ROUNDS} alternating rounds`,
  });
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
            const t = await measure(
              () =>
                tf.tidy(() => {
                  const { value, grad } = step(x);
                  value.dataSync();
                  grad.dataSync();
                }),
              quick(TENSOR_BUDGET_MS),
            );
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
    let ours: RetrievalMetrics | undefined;
    const t = await measure(async () => void (ours = await evaluateRetrieval(x, N, D, labels, { k })), {
      warmup: N > 20_000 ? 0 : 1,
      repeats: 3,
      budgetMs: 60_000,
    });
    ctx.emit({ suite: 'eval', name: 'exact-retrieval', impl: 'blocked', backend: 'js', N, D, ...t });
    if (ctx.faissPython) faissCase(ctx, ctx.faissPython, x, N, D, labels, k, ours!, t);
    // N queries against a separate gallery of N (the same work as leave-one-out, two sets of rows).
    ctx.note(`eval: query-gallery N=${N}×${N} D=${D}`);
    const g = randomUnitRows(N, D, 4);
    const qg = await measure(() => evaluateQueryGallery({ x, n: N, labels }, { x: g, n: N, labels }, D, { k }), {
      warmup: N > 20_000 ? 0 : 1,
      repeats: 3,
      budgetMs: 60_000,
    });
    ctx.emit({ suite: 'eval', name: 'exact-retrieval-query-gallery', impl: 'blocked', backend: 'js', N, D, ...qg });
  }
}

/**
 * faiss's exact top-k search (k = the largest cut-off) on the same rows, right after ours, with
 * as many repeats. The ratio compares our whole evaluation with faiss's search alone; the note
 * says whether faiss's lists give the same Recall@K (float32 scores may order near-ties
 * differently, so a difference of a query or two is possible).
 */
function faissCase(
  ctx: SuiteContext,
  python: string,
  x: Float64Array,
  N: number,
  D: number,
  labels: Int32Array,
  ks: number[],
  ours: RetrievalMetrics,
  t: Pick<PerfRecord, 'medianMs' | 'repeats'>,
): void {
  const k = Math.max(...ks);
  ctx.note(`eval: peer faiss top-${k} N=${N} D=${D}`);
  const base = { suite: 'eval', name: 'exact-retrieval', impl: `peer top-${k}`, backend: 'faiss', N, D };
  const answer = runFaissPeer(python, {
    x,
    labels,
    n: N,
    d: D,
    k,
    ks,
    threads: PEER_THREADS,
    repeats: Math.max(1, t.repeats),
    dir: ctx.scratchDir ?? tmpdir(),
  });
  if (!answer.ok) {
    ctx.emit({ ...base, ...skipped(), error: answer.error });
    return;
  }
  // null from the peer: no query had a positive (ours says NaN).
  const gap = (kk: number): number => {
    const theirs = answer.recallAt[String(kk)] ?? NaN;
    const mine = ours.recallAt[String(kk)] ?? NaN;
    return Number.isNaN(theirs) && Number.isNaN(mine) ? 0 : Math.abs(theirs - mine);
  };
  const worst = Math.max(...ks.map(gap));
  const agree = worst * N <= 2 ? 'same Recall@K as ours' : `Recall@K differs from ours by up to ${worst.toFixed(5)}`;
  const theirs = summarize(answer.timesMs, NaN);
  const speedup = speedupOver(theirs.medianMs, t.medianMs);
  ctx.emit({
    ...base,
    ...theirs,
    speedup,
    error: `faiss ${answer.faiss} IndexFlatIP, top ${k} only; ${agree}; our full evaluation ${speedup}× faster`,
  });
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
  const [din, hidden, emb] = [784, 256, 128];
  for (const B of ctx.sizes ?? DEFAULT_SIZES.train) {
    for (const backend of ctx.tensorBackends) {
      await selectBackend(backend);
      // The parts of a step, each alone on the same backend: the model's five matmuls (two forward,
      // three for the weight and hidden gradients) and each loss's forward + backward on B×128.
      const mm = await modelMatmuls(B, din, hidden, emb);
      ctx.emit({ suite: 'train', name: `mlp ${din}→${hidden}→${emb}`, impl: 'matmuls-only', backend, B, D: emb, P, ...mm });
      for (const plugin of ctx.registry.all()) {
        ctx.note(`train: mlp ${din}→${hidden}→${emb} + ${plugin.name} on ${backend} B=${B}`);
        const params = resolveParams(plugin.params, {}, `loss ${plugin.name}`);
        const lossOnly = await measure(() => lossStep(plugin.compute, B, emb, params), { warmup: 3, repeats: 21, budgetMs: 3_000 });
        ctx.emit({ suite: 'train', name: plugin.name, impl: 'loss-only', backend, B, D: emb, P, ...lossOnly });
        const cfg = {
          ...DEFAULT_TRAIN_CONFIG,
          model: 'mlp' as const,
          hidden,
          embeddingDim: emb,
          batchSize: B,
          perClass: P,
          iterations: steps,
          logEvery: steps,
        };
        const stamps: number[] = [];
        let peak = 0;
        await train(cfg, data, plugin, params, {
          onStep: () => {
            stamps.push(performance.now());
            peak = Math.max(peak, process.memoryUsage().rss);
          },
        }).then((m) => m.dispose());
        // Step times from consecutive step callbacks, after the first few (warm-up, tracing).
        const times = stamps
          .slice(1)
          .map((t, i) => t - stamps[i]!)
          .slice(3)
          .sort((a, b) => a - b);
        if (!times.length) continue;
        const median = roundMs(times[times.length >> 1]!);
        const rest = roundMs(median - lossOnly.medianMs - mm.medianMs);
        ctx.emit({
          suite: 'train',
          name: `mlp+${plugin.name}`,
          impl: 'adam-step',
          backend,
          B,
          D: emb,
          P,
          medianMs: median,
          minMs: roundMs(times[0]!),
          maxMs: roundMs(times[times.length - 1]!),
          peakRssMb: Math.round(peak / 2 ** 20),
          repeats: times.length,
          error: `loss ${lossOnly.medianMs} + model matmuls ${mm.medianMs} ms; the other ${rest} ms: biases, ReLU, L2 normalisation and their gradients, Adam, batch copy`,
        });
      }
    }
  }
}

/**
 * Times the MLP's matmuls of one step, forward and backward, on operands of the step's shapes
 * made once beforehand (as the step's weights and activations already exist); the first layer
 * needs no input gradient.
 */
async function modelMatmuls(B: number, din: number, hidden: number, emb: number): Promise<Awaited<ReturnType<typeof measure>>> {
  const rng = new Rng(4);
  const t = (r: number, c: number): tf.Tensor2D =>
    tf.tensor2d(
      Float32Array.from({ length: r * c }, () => rng.normal()),
      [r, c],
    );
  const [x, w1, w2, dE] = [t(B, din), t(din, hidden), t(hidden, emb), t(B, emb)];
  try {
    return await measure(
      () =>
        tf.tidy(() => {
          const h = tf.matMul(x, w1);
          const e = tf.matMul(h, w2);
          // Transposes first, as the model's own gradient does (wasm's transposed matMul is far slower).
          const dH = tf.matMul(dE, tf.transpose(w2));
          const dW2 = tf.matMul(tf.transpose(h), dE);
          const dW1 = tf.matMul(tf.transpose(x), dH);
          for (const r of [e, dW2, dW1]) r.dataSync();
        }),
      { warmup: 3, repeats: 21, budgetMs: 3_000 },
    );
  } finally {
    tf.dispose([x, w1, w2, dE]);
  }
}

/** One loss forward + backward through its tfjs compute, on unit rows as the model gives them. */
function lossStep(compute: LossPlugin['compute'], B: number, emb: number, params: Params): void {
  const x = tf.tensor2d(Float32Array.from(randomUnitRows(B, emb, 5)), [B, emb]);
  const labels = blockLabels(B, P);
  tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => compute(e as tf.Tensor2D, labels, params, { rng: new Rng(0), tf }).loss)(x);
    value.dataSync();
    grad.dataSync();
  });
  x.dispose();
}
