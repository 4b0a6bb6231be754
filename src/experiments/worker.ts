/**
 * Child-process entry for `bench run --jobs N`: runs the cells the parent sends, one at a time,
 * and writes each cell's file itself, so a cell that finished is saved even if the parent dies.
 */
import { UserError } from '../core/errors.js';
import { selectBackend } from '../backend/index.js';
import { loadLossRegistry } from '../losses/index.js';
import type { LossRegistry } from '../losses/registry.js';
import { runCell } from './cell.js';
import type { FromWorker, ToWorker } from './messages.js';
import { writeCellResult } from './store.js';

let registry: LossRegistry | undefined;
let init: Extract<ToWorker, { type: 'init' }> | undefined;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function report(id: string | null, e: unknown): void {
  const user = e instanceof UserError;
  send({ type: 'error', id, user, message: user ? (e as Error).message : ((e as Error)?.stack ?? String(e)) });
}

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === 'init') {
    try {
      init = msg;
      await selectBackend(msg.backend);
      registry = await loadLossRegistry(msg.plugins);
      send({ type: 'ready' });
    } catch (e) {
      report(null, e);
    }
    return;
  }
  const { cell } = msg;
  try {
    let last = 0;
    const ctx = {
      registry: registry!,
      evalWorkers: 1,
      onStep: (p: { step: number; total: number; loss: number }) => {
        const now = Date.now();
        if (now - last >= 200 || p.step === p.total) {
          last = now;
          send({ type: 'step', id: cell.id, progress: p });
        }
      },
      ...(init!.dataDir !== undefined ? { dataDir: init!.dataDir } : {}),
      ...(init!.baseDir !== undefined ? { baseDir: init!.baseDir } : {}),
    };
    const result = await runCell(cell, init!.experiment, ctx);
    writeCellResult(init!.resultsDir, result, { replace: init!.replace === true });
    send({ type: 'done', id: cell.id, result });
  } catch (e) {
    report(cell.id, e);
  }
}

// Messages are handled strictly in order: a cell message never overtakes the init.
let queue: Promise<void> = Promise.resolve();
process.on('message', (msg: ToWorker) => {
  queue = queue.then(() => handle(msg));
});
// The parent is gone (finished, or killed): stop rather than run on unobserved.
process.on('disconnect', () => process.exit(0));
