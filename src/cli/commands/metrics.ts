import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../../core/atomic.js';
import { UserError, show } from '../../core/errors.js';
import { evaluateRetrieval, defaultKs } from '../../metrics/retrieval.js';
import { metricsSummary } from '../../api/evaluate.js';
import { readBatchFile } from '../batch-file.js';
import type { GlobalArgs } from '../context.js';

interface MetricsArgs extends GlobalArgs {
  input: string;
  k?: string;
  output?: string;
  workers?: number;
}

/** "1,2,4,8" → [1, 2, 4, 8]; anything but positive integers is a one-line error. */
export function parseKList(raw: string): number[] {
  const parts = String(raw).split(',').map((s) => s.trim());
  const ks = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (ks.some((k) => !Number.isSafeInteger(k) || k < 1)) {
    throw new UserError(`--k: ${show(raw)} is not allowed; expected comma-separated positive integers, e.g. 1,2,4,8`);
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

const command: CommandModule<GlobalArgs, MetricsArgs> = {
  command: 'metrics',
  describe: 'Exact retrieval metrics (mAP, MAP@R, R-precision, P@1, Recall@K) of labelled embeddings',
  builder: (y) =>
    y
      .option('input', {
        type: 'string',
        demandOption: true,
        describe: 'JSON file {"embeddings": number[][], "labels": (number|string)[]}; similarity = dot product',
      })
      .option('k', { type: 'string', describe: 'Recall@K cut-offs, comma-separated (default 1,2,4,8 and 10,100,1000 where K < n)' })
      .option('output', { type: 'string', describe: 'write the JSON here instead of stdout' })
      .option('workers', { type: 'number', describe: 'threads (default: all cores for large inputs)' }),
  handler: async (args) => {
    const ks = args.k === undefined ? undefined : parseKList(args.k);
    if (args.workers !== undefined && (!Number.isInteger(args.workers) || args.workers < 1)) {
      throw new UserError(`--workers: ${show(args.workers)} is not allowed; expected a positive integer`);
    }
    const batch = readBatchFile(args.input);
    const m = await evaluateRetrieval(batch.x, batch.n, batch.d, batch.labels, {
      k: ks ?? defaultKs(batch.n),
      workers: args.workers,
    });
    if (m.queries === 0) {
      throw new UserError(`--input ${show(args.input)}: no item has another item of its class, so no query can be evaluated`);
    }
    const text = JSON.stringify(
      metricsSummary(m),
      null,
      2,
    ) + '\n';
    if (args.output) writeFileAtomic(args.output, text);
    else process.stdout.write(text);
  },
};

export default command;
