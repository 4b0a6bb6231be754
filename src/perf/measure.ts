/** One measured case of `bench perf`, in the JSON-lines shape the README documents. */
export interface PerfRecord {
  suite: string;
  name: string;
  impl?: string;
  backend?: string;
  B?: number;
  D?: number;
  P?: number;
  N?: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  peakRssMb: number;
  repeats: number;
  /** On a peer's row: the peer's median over ours on the same case (> 1: ours is faster). */
  speedup?: number;
  /** Set instead of timings when the case could not run (e.g. out of memory). */
  error?: string;
}

export interface MeasureOptions {
  warmup: number;
  repeats: number;
  /** Stop repeating once this much time has been spent (slow cases still get >= 1 repeat). */
  budgetMs: number;
}

const mb = (bytes: number): number => Math.round((bytes / (1024 * 1024)) * 10) / 10;

/**
 * Times `fn` after warm-up. Peak memory is the largest resident set seen right after each call
 * (before the garbage collector can reclaim what the call allocated), so it bounds what the case
 * needs from below, not the process's whole history.
 */
export async function measure(
  fn: () => unknown | Promise<unknown>,
  opts: MeasureOptions,
): Promise<Pick<PerfRecord, 'medianMs' | 'minMs' | 'maxMs' | 'peakRssMb' | 'repeats'>> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const { times, peakRss } = await timeRepeats(fn, opts);
  return summarize(times, peakRss);
}

/** The raw repeats of `measure` (ms, in the order taken) and the peak resident set in bytes. */
export async function timeRepeats(fn: () => unknown | Promise<unknown>, opts: MeasureOptions): Promise<{ times: number[]; peakRss: number }> {
  let peak = process.memoryUsage().rss;
  const start = performance.now();
  for (let i = 0; i < opts.warmup; i++) {
    await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    if (performance.now() - start > opts.budgetMs) break;
  }
  const times: number[] = [];
  const timedStart = performance.now();
  while (times.length < opts.repeats) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (performance.now() - timedStart > opts.budgetMs) break;
  }
  return { times, peakRss: peak };
}

/** Milliseconds as the tables show them: to 0.01. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** How many times faster `ours` ran than `peer` (ratio of medians), to one decimal. */
export function speedupOver(peerMedianMs: number, ourMedianMs: number): number {
  return Math.round((peerMedianMs / ourMedianMs) * 10) / 10;
}

/** Median, min and max (ms, rounded to 0.01) of at least one repeat; peak memory from bytes. */
export function summarize(times: readonly number[], peakRssBytes: number): Pick<PerfRecord, 'medianMs' | 'minMs' | 'maxMs' | 'peakRssMb' | 'repeats'> {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    medianMs: roundMs(median),
    minMs: roundMs(sorted[0]!),
    maxMs: roundMs(sorted[sorted.length - 1]!),
    peakRssMb: Number.isNaN(peakRssBytes) ? NaN : mb(peakRssBytes),
    repeats: sorted.length,
  };
}
