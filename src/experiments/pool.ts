import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';
import type { TrainProgress } from '../train/types.js';
import type { FromWorker, ToWorker } from './messages.js';
import type { Cell, CellResult } from './types.js';

export interface CellHooks {
  onStart(slot: number, cell: Cell): void;
  onStep(slot: number, p: TrainProgress): void;
  onDone(slot: number, result: CellResult): void;
  onFail?(slot: number, cell: Cell): void;
}

export type WorkerInit = Omit<Extract<ToWorker, { type: 'init' }>, 'type'>;

/** Hands out the next cell to run (claimed for this worker), or null when there is none left. */
export type CellSource = () => Promise<Cell | null>;

/** What a running pool lets its owner do: stop it at once (a signal), killing its children. */
export interface PoolControl {
  kill(): void;
}

/** The compiled worker beside this module (dist/), also when this module runs from src/ (tests). */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const path = here.endsWith('.js') ? join(dirname(here), 'worker.js') : resolve(dirname(here), '../../dist/experiments/worker.js');
  if (!existsSync(path)) throw new Error(`--jobs needs the compiled worker ${path}; run "npx tsc -p ." first`);
  return path;
}

function cellError(cell: Cell | null, m: Extract<FromWorker, { type: 'error' }>): Error {
  const msg = cell ? `cell ${cell.id}: ${m.message}` : m.message;
  return m.user ? new UserError(msg) : new Error(msg);
}

/**
 * Runs cells in `jobs` child processes, each taking the next cell from `next` when it is free.
 * The first failure stops new cells from starting; cells already running finish (and are
 * saved), then the failure is thrown.
 */
export function runCellsInChildren(next: CellSource, jobs: number, init: WorkerInit, hooks: CellHooks, control?: (c: PoolControl) => void): Promise<void> {
  const entry = workerEntry();
  const children: ChildProcess[] = [];
  control?.({ kill: () => children.forEach((c) => c.kill('SIGKILL')) });
  return new Promise<void>((resolveAll, rejectAll) => {
    let live = 0;
    let failure: Error | null = null;
    const fail = (e: Error): void => {
      failure ??= e;
    };

    const spawn = (slot: number): void => {
      const child: ChildProcess = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv: [] });
      children.push(child);
      live++;
      let current: Cell | null = null;
      const stop = (): void => {
        if (child.connected) child.disconnect();
      };
      const dispatch = (): void => {
        current = null;
        if (failure) {
          stop();
          return;
        }
        next().then(
          (cell) => {
            if (!cell || failure) {
              if (cell) hooks.onFail?.(slot, cell);
              stop();
              return;
            }
            current = cell;
            hooks.onStart(slot, cell);
            child.send({ type: 'cell', cell } satisfies ToWorker);
          },
          (e: unknown) => {
            fail(e as Error);
            stop();
          },
        );
      };
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') dispatch();
        else if (m.type === 'step') hooks.onStep(slot, m.progress);
        else if (m.type === 'done') {
          hooks.onDone(slot, m.result);
          dispatch();
        } else {
          if (current) hooks.onFail?.(slot, current);
          fail(cellError(current, m));
          current = null;
          stop();
        }
      });
      child.on('error', (e) => fail(e));
      child.on('exit', (code, signal) => {
        if (current) {
          hooks.onFail?.(slot, current);
          fail(new Error(`cell ${current.id}: its worker process exited (${signal ?? `code ${code}`}) before finishing`));
        }
        live--;
        if (live === 0) {
          if (failure) rejectAll(failure);
          else resolveAll();
        }
      });
      child.send({ type: 'init', ...init } satisfies ToWorker);
    };

    for (let slot = 0; slot < jobs; slot++) spawn(slot);
  });
}
