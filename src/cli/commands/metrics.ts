import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../../core/atomic.js';
import { UserError, show } from '../../core/errors.js';
import { evaluateQueryGallery, evaluateRetrieval, defaultKs } from '../../metrics/retrieval.js';
import { SIMILARITIES, type Similarity } from '../../metrics/similarity.js';
import { AVERAGINGS, type Averaging, type RetrievalMetrics } from '../../metrics/types.js';
import { metricsSummary } from '../../api/evaluate.js';
import { readBatchFile } from '../batch-file.js';
import { readLabelledFile, sharedClassIds } from '../metrics-input.js';
import type { GlobalArgs } from '../context.js';

interface MetricsArgs extends GlobalArgs {
  input?: string;
  query?: string;
  gallery?: string;
  labels?: string;
  'query-labels'?: string;
  'gallery-labels'?: string;
  'label-column': string;
  similarity: string;
  averaging: string;
  k?: string;
  output?: string;
  workers?: number;
}

/** "1,2,4,8" → [1, 2, 4, 8]; anything but positive integers is a one-line error. */
export function parseKList(raw: string): number[] {
  const parts = String(raw)
    .split(',')
    .map((s) => s.trim());
  const ks = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (ks.some((k) => !Number.isSafeInteger(k) || k < 1)) {
    throw new UserError(`--k: ${show(raw)} is not allowed; expected comma-separated positive integers, e.g. 1,2,4,8`);
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

function choice<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new UserError(`${flag}: ${show(v)} is not allowed; expected one of ${allowed.join(', ')}`);
  return v as T;
}

/** The metrics JSON: the protocol, similarity and averaging that produced the numbers, then the numbers. */
function report(protocol: string, similarity: Similarity, averaging: Averaging, m: RetrievalMetrics): string {
  return JSON.stringify(metricsSummary(m, { protocol, similarity, averaging }), null, 2) + '\n';
}

const command: CommandModule<GlobalArgs, MetricsArgs> = {
  command: 'metrics',
  describe: 'Exact retrieval metrics (mAP, MAP@R, R-precision, P@1, Recall@K, MRR) of labelled embeddings',
  builder: (y) =>
    y
      .option('input', {
        type: 'string',
        describe:
          'leave-one-out: every row a query against all others. JSON {"embeddings": number[][], "labels": [...]}, ' +
          'a .npy matrix (with --labels), or a CSV with a label column',
      })
      .option('query', { type: 'string', describe: 'query set (same formats as --input), ranked against --gallery; nothing is left out' })
      .option('gallery', { type: 'string', describe: 'gallery set for --query (same formats as --input)' })
      .option('labels', { type: 'string', describe: 'labels of a .npy --input: .npy ints, or text/CSV' })
      .option('query-labels', { type: 'string', describe: 'labels of a .npy --query' })
      .option('gallery-labels', { type: 'string', describe: 'labels of a .npy --gallery' })
      .option('label-column', { type: 'string', default: 'label', describe: 'the label column of a CSV with a header row' })
      .option('similarity', { type: 'string', default: 'dot', describe: `${SIMILARITIES.join(' | ')} (euclidean: smaller distance ranks first)` })
      .option('averaging', { type: 'string', default: 'query', describe: 'query: mean over queries; class: mean over classes of per-class means' })
      .option('k', { type: 'string', describe: 'Recall@K cut-offs, comma-separated (default 1,2,4,8 and 10,100,1000 where K < gallery size)' })
      .option('output', { type: 'string', describe: 'write the JSON here instead of stdout' })
      .option('workers', { type: 'number', describe: 'threads (default: all cores for large inputs)' }),
  handler: async (args) => {
    const ks = args.k === undefined ? undefined : parseKList(args.k);
    if (args.workers !== undefined && (!Number.isInteger(args.workers) || args.workers < 1)) {
      throw new UserError(`--workers: ${show(args.workers)} is not allowed; expected a positive integer`);
    }
    const similarity = choice('--similarity', args.similarity, SIMILARITIES);
    const averaging = choice('--averaging', args.averaging, AVERAGINGS);
    const labelColumn = args['label-column'];
    const opts = { workers: args.workers, similarity, averaging };
    let text: string;
    if (args.query !== undefined || args.gallery !== undefined) {
      if (args.input !== undefined)
        throw new UserError('--input: not allowed with --query/--gallery; give --input alone (leave-one-out) or --query and --gallery');
      if (args.query === undefined) throw new UserError(`--query: missing; --gallery ${show(args.gallery)} needs the query set to rank against it`);
      if (args.gallery === undefined) throw new UserError(`--gallery: missing; --query ${show(args.query)} needs a gallery to be ranked against`);
      if (args.labels !== undefined) throw new UserError('--labels: only with --input; use --query-labels and --gallery-labels');
      const q = await readLabelledFile(args.query, { flag: '--query', labels: args['query-labels'], labelsFlag: '--query-labels', labelColumn });
      const g = await readLabelledFile(args.gallery, { flag: '--gallery', labels: args['gallery-labels'], labelsFlag: '--gallery-labels', labelColumn });
      if (q.d !== g.d) {
        throw new UserError(
          `--gallery ${show(args.gallery)}: rows of ${g.d} values, but --query ${show(args.query)} has ${q.d}; both must have the same dimension`,
        );
      }
      const [ql, gl] = sharedClassIds(q.rawLabels, g.rawLabels);
      const m = await evaluateQueryGallery({ x: q.x, n: q.n, labels: ql! }, { x: g.x, n: g.n, labels: gl! }, q.d, {
        ...opts,
        k: ks ?? defaultKs(g.n),
      });
      text = report('query-gallery', similarity, averaging, m);
    } else {
      if (args.input === undefined) throw new UserError('--input: missing; give --input F (leave-one-out) or --query Q and --gallery G');
      for (const f of ['query-labels', 'gallery-labels'] as const) {
        if (args[f] !== undefined) throw new UserError(`--${f}: only with --query and --gallery`);
      }
      const lower = args.input.toLowerCase();
      let x: Float32Array | Float64Array, n: number, d: number, labels: Int32Array;
      if (lower.endsWith('.npy') || lower.endsWith('.csv')) {
        const f = await readLabelledFile(args.input, { flag: '--input', labels: args.labels, labelsFlag: '--labels', labelColumn });
        ({ x, n, d } = f);
        labels = sharedClassIds(f.rawLabels)[0]!;
      } else {
        if (args.labels !== undefined) throw new UserError(`--labels: only used with .npy features; ${args.input} carries its own labels`);
        ({ x, n, d, labels } = readBatchFile(args.input));
      }
      const m = await evaluateRetrieval(x, n, d, labels, { ...opts, k: ks ?? defaultKs(n) });
      if (m.queries === 0) {
        throw new UserError(`--input ${show(args.input)}: no item has another item of its class, so no query can be evaluated`);
      }
      text = report('leave-one-out', similarity, averaging, m);
    }
    if (args.output) writeFileAtomic(args.output, text);
    else process.stdout.write(text);
  },
};

export default command;
