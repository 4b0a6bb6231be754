import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * Claim files let any number of workers (processes on one machine, array tasks on a cluster)
 * share one results folder: a worker creates cells/<id>.claim exclusively before it runs a cell
 * and keeps touching it while the cell runs. Another worker skips a cell with a fresh claim and
 * takes over one whose claim has not been touched for `timeoutMs` (its worker died or was
 * preempted). Exclusive create and rename are atomic on local and network filesystems alike.
 */
export interface ClaimInfo {
  host: string;
  pid: number;
  token: string;
  startedAt: string;
  shard?: string;
}

export type ClaimState = { kind: 'free' } | { kind: 'live'; info: ClaimInfo | null; ageMs: number } | { kind: 'stale'; info: ClaimInfo | null; ageMs: number };

export const DEFAULT_CLAIM_TIMEOUT_MS = 60_000;

export function claimPath(cellsDir: string, id: string): string {
  return join(cellsDir, `${id}.claim`);
}

function readInfo(path: string): ClaimInfo | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ClaimInfo;
  } catch {
    return null;
  }
}

export class ClaimSet {
  /** Claims this worker holds: cell id → token. */
  private readonly held = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cellsDir: string,
    readonly timeoutMs = DEFAULT_CLAIM_TIMEOUT_MS,
    private readonly shard?: string,
  ) {
    mkdirSync(cellsDir, { recursive: true });
  }

  state(id: string, now = Date.now()): ClaimState {
    const path = claimPath(this.cellsDir, id);
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      return { kind: 'free' };
    }
    const ageMs = Math.max(0, now - mtimeMs);
    return { kind: ageMs > this.timeoutMs ? 'stale' : 'live', info: readInfo(path), ageMs };
  }

  /**
   * Claims a cell: true when this worker now holds it. A stale claim is first moved aside by
   * rename, which only one of several workers racing for it can do.
   */
  tryClaim(id: string): boolean {
    const path = claimPath(this.cellsDir, id);
    const st = this.state(id);
    if (st.kind === 'live') return false;
    if (st.kind === 'stale') {
      const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
      try {
        renameSync(path, aside);
      } catch {
        return false;
      }
      rmSync(aside, { force: true });
    }
    const info: ClaimInfo = { host: hostname(), pid: process.pid, token: randomBytes(8).toString('hex'), startedAt: new Date().toISOString() };
    if (this.shard) info.shard = this.shard;
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch {
      return false;
    }
    try {
      writeSync(fd, JSON.stringify(info) + '\n');
    } finally {
      closeSync(fd);
    }
    this.held.set(id, info.token);
    this.startHeartbeat();
    return true;
  }

  /** Whether the claim file still carries this worker's token (a stalled worker may have lost it). */
  private owns(id: string): boolean {
    const token = this.held.get(id);
    return token !== undefined && readInfo(claimPath(this.cellsDir, id))?.token === token;
  }

  release(id: string): void {
    if (this.owns(id)) rmSync(claimPath(this.cellsDir, id), { force: true });
    this.held.delete(id);
    if (this.held.size === 0) this.stopHeartbeat();
  }

  releaseAll(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }

  heldIds(): string[] {
    return [...this.held.keys()];
  }

  /** Touches every held claim, so that others see its worker is alive. */
  heartbeat(): void {
    const now = new Date();
    for (const id of this.held.keys()) {
      if (!this.owns(id)) continue;
      try {
        utimesSync(claimPath(this.cellsDir, id), now, now);
      } catch {
        // Taken over or removed by hand: the result write will sort out who finished first.
      }
    }
  }

  private startHeartbeat(): void {
    if (this.timer) return;
    const every = Math.max(200, Math.min(10_000, Math.floor(this.timeoutMs / 4)));
    this.timer = setInterval(() => this.heartbeat(), every);
    // A heartbeat must never keep a finished process alive.
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
