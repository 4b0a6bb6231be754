import type { TrainProgress } from '../train/types.js';
import type { Cell, CellResult } from './types.js';

/** Parent → child. */
export type ToWorker =
  | {
      type: 'init';
      backend?: string;
      plugins: string[];
      dataDir?: string;
      baseDir?: string;
      resultsDir: string;
      experiment: string;
      /** --force: a finished cell file is replaced rather than kept. */
      replace?: boolean;
    }
  | { type: 'cell'; cell: Cell };

/** Child → parent. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'step'; id: string; progress: TrainProgress }
  | { type: 'done'; id: string; result: CellResult }
  | { type: 'error'; id: string | null; message: string; user: boolean };
