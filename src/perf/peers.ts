import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { findPython } from './python.js';
import { fileURLToPath } from 'node:url';
import { createInterface, type Interface } from 'node:readline';

/**
 * The PyTorch peers of `bench perf --peer torch`: peers/torch_losses.py, run by a python3 that
 * can import torch, as one child process answering one JSON line per request. It stays up for
 * the whole run, so each peer case is timed in rounds alternating with rankbench's own on the
 * same batch (the machine's load drifts; interleaved measurements compare best) and torch is
 * imported once.
 */

/** Where the peer script lives: peers/ at the package root (two levels above src/perf or dist/perf). */
export const TORCH_PEER_SCRIPT = fileURLToPath(new URL('../../peers/torch_losses.py', import.meta.url));

/** The one line printed when no python3 can import torch. */
export const NO_TORCH_MESSAGE =
  'peer torch: no python3 here can import torch, so the PyTorch peers are not run; install them with `apt-get install python3-torch` (Debian) and rerun';

/** A python3 that imports torch (see findPython). */
export function findTorchPython(): string | null {
  return findPython('torch');
}

/** What the peer script says about one loss. */
export interface PeerInfo {
  /** The public code it follows, in words. */
  peer: string;
  /** Parameter overrides for the agreement check (e.g. no random margin). */
  check: Record<string, unknown>;
}

export interface PeerRequest {
  loss: string;
  B: number;
  D: number;
  labels: number[];
  /** A file of B×D float64 values, little-endian, row-major. */
  x: string;
  params: Record<string, unknown>;
  checkParams: Record<string, unknown>;
  /** rankbench's loss on the same batch with checkParams. */
  expect: number;
  repeats: number;
  budgetMs: number;
  threads: number;
  /** A later round on a batch already checked: no check, no warm-up, only the repeats. */
  timeOnly?: boolean;
}

export type PeerAnswer =
  | {
      ok: true;
      /** The peer's loss with checkParams; null on a timeOnly round. */
      peerLoss: number | null;
      medianMs: number;
      minMs: number;
      maxMs: number;
      repeats: number;
      /** Every repeat, in the order taken. */
      timesMs: number[];
    }
  | { ok: false; error: string; peerLoss?: number };

export class TorchPeer {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly rl: Interface,
    readonly peers: Record<string, PeerInfo>,
    readonly torchVersion: string,
    private readonly stderr: string[],
  ) {}

  static async start(python: string, script: string = TORCH_PEER_SCRIPT): Promise<TorchPeer> {
    // The script sets torch's thread count per request. OpenMP threads that spin while waiting
    // lose several-fold on a loaded machine (measured here: 4× at B=64), which would flatter our
    // ratios; passive waiting keeps the peer at its best unless the caller chose otherwise.
    const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const stderr: string[] = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => stderr.push(s));
    const rl = createInterface({ input: child.stdout });
    const lines = rl[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new Error(`the peer script exited before it started: ${stderr.join('').trim().split('\n').pop() ?? ''}`);
    const hello = JSON.parse(first.value) as { peers: Record<string, PeerInfo>; torch: string };
    return new TorchPeer(child, lines, rl, hello.peers, hello.torch, stderr);
  }

  /** Checks the peer's loss against ours on the batch, then times it; one answer per request. */
  async run(req: PeerRequest): Promise<PeerAnswer> {
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const next = await this.lines.next();
    if (next.done) return { ok: false, error: `the peer script exited: ${this.stderr.join('').trim().split('\n').pop() ?? ''}` };
    return JSON.parse(next.value) as PeerAnswer;
  }

  close(): void {
    this.rl.close();
    this.child.stdin.end();
    this.child.kill();
  }
}
