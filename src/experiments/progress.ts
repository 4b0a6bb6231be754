import type { TrainProgress } from '../train/types.js';
import type { Cell, CellResult } from './types.js';

export type ProgressMode = 'tty' | 'lines' | 'none';

/** A live line only where a person watches: a terminal, and not under CI. */
export function defaultProgressMode(): ProgressMode {
  return process.stderr.isTTY && !process.env.CI ? 'tty' : 'lines';
}

/** Short description of a cell: dataset, loss, swept values, seed. */
export function cellLabel(cell: Cell): string {
  const swept = Object.entries(cell.swept)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${String(v)}`);
  return [cell.config.dataset.name, cell.config.loss.name, ...swept, `seed=${cell.config.seed}`].join(' ');
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const fmt = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4));

interface Slot {
  cell: Cell;
  ordinal: number;
  step: number;
  total: number;
  loss: number;
}

/**
 * Progress of a run. On a terminal, one live line (cell i/n, its parameters, step, loss, ETA)
 * redrawn at most 10 times a second; otherwise one plain line per finished cell and nothing
 * per step, so CI logs stay short.
 */
export class ProgressReporter {
  private readonly slots = new Map<number, Slot>();
  private finished = 0;
  private started = 0;
  private readonly t0 = Date.now();
  private lastDraw = 0;
  private lastSlot = -1;
  private drawn = false;

  constructor(
    private readonly mode: ProgressMode,
    private total: number,
    private readonly write: (s: string) => void = (s) => void process.stderr.write(s),
  ) {}

  cellStarted(slot: number, cell: Cell): void {
    this.started++;
    this.slots.set(slot, { cell, ordinal: this.started, step: 0, total: cell.config.train.iterations, loss: NaN });
    this.lastSlot = slot;
    this.draw(true);
  }

  step(slot: number, p: TrainProgress): void {
    const s = this.slots.get(slot);
    if (!s) return;
    s.step = p.step;
    s.total = p.total;
    s.loss = p.loss;
    this.lastSlot = slot;
    this.draw(false);
  }

  cellFinished(slot: number, r: CellResult): void {
    const s = this.slots.get(slot);
    this.slots.delete(slot);
    this.finished++;
    if (this.mode === 'none') return;
    const est = r.apEstimate ? `  AP est ${fmt(r.apEstimate.estimate)} vs true ${fmt(r.apEstimate.trueAP)}` : '';
    const line =
      `cell ${this.finished}/${this.total} ${r.id} ${s ? cellLabel(s.cell) : ''}: ` +
      `mAP ${fmt(r.metrics.map)} (untrained ${fmt(r.untrained.map)})${est}  ${formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt))}`;
    this.clear();
    this.write(line + '\n');
    this.draw(true);
  }

  /** A cell another worker finished or is running: no longer part of this run's count. */
  cellTakenElsewhere(): void {
    this.total = Math.max(this.finished, this.total - 1);
  }

  cellFailed(slot: number): void {
    this.slots.delete(slot);
    this.clear();
  }

  end(): void {
    this.clear();
  }

  /** Remaining time from the share of all steps done so far (finished cells count whole). */
  private eta(): number {
    let done = this.finished;
    for (const s of this.slots.values()) done += s.total > 0 ? s.step / s.total : 0;
    if (done <= 0) return NaN;
    const elapsed = Date.now() - this.t0;
    return (elapsed / done) * (this.total - done);
  }

  private clear(): void {
    if (this.mode === 'tty' && this.drawn) {
      this.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  private draw(force: boolean): void {
    if (this.mode !== 'tty') return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    const s = this.slots.get(this.lastSlot) ?? [...this.slots.values()][0];
    if (!s) return;
    this.lastDraw = now;
    const others = this.slots.size > 1 ? ` (+${this.slots.size - 1} running)` : '';
    let line =
      `[${Math.min(this.finished + 1, this.total)}/${this.total}] ${cellLabel(s.cell)} · step ${s.step}/${s.total} loss ${fmt(s.loss)}` +
      `${others} · ETA ${formatDuration(this.eta())}`;
    const cols = process.stderr.columns || 120;
    if (line.length > cols - 1) line = line.slice(0, cols - 2) + '…';
    this.write('\r\x1b[K' + line);
    this.drawn = true;
  }
}
