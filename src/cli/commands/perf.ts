import type { CommandModule } from 'yargs';
import { formatDuration } from '../../experiments/progress.js';
import { UserError, show } from '../../core/errors.js';
import { markdownTable } from '../../core/text-table.js';
import { selectBackend } from '../../backend/index.js';
import type { PerfRecord } from '../../perf/measure.js';
import { evalSuite, fusedLossCases, SUITES, tensorLossCases, trainSuite, type Suite, type SuiteContext } from '../../perf/suites.js';
import { findTorchPython, NO_TORCH_MESSAGE, TorchPeer } from '../../perf/peers.js';
import { findFaissPython, NO_FAISS_MESSAGE } from '../../perf/faiss-peer.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lossRegistry, type GlobalArgs } from '../context.js';

interface PerfArgs extends GlobalArgs {
  suite: string;
  sizes?: string;
  json?: boolean;
  'tensor-backends'?: string;
  loss?: string;
  peer?: string;
}

type Phase = (ctx: SuiteContext) => Promise<void>;

/**
 * The tensor formulations run last: the wasm heap never shrinks, so a resident-set reading
 * taken after them would say nothing about the kernels, the evaluation or a training step.
 */
function phases(suites: readonly Suite[]): Phase[] {
  const has = (s: Suite): boolean => suites.includes(s);
  return [
    ...(has('losses') ? [fusedLossCases] : []),
    ...(has('eval') ? [evalSuite] : []),
    ...(has('train') ? [trainSuite] : []),
    ...(has('losses') ? [tensorLossCases] : []),
  ];
}

function parseSizes(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const sizes = String(v)
    .split(',')
    .map((s) => Number(s.trim()));
  if (!sizes.length || sizes.some((s) => !Number.isInteger(s) || s < 2)) {
    throw new UserError(`--sizes: ${show(v)} is not allowed; expected comma-separated integers >= 2 (B for losses/train, N for eval)`);
  }
  return sizes;
}

const PEERS = ['torch', 'faiss'];

function parsePeers(v: string | undefined): Set<string> {
  if (v === undefined) return new Set();
  const names = String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.find((p) => !PEERS.includes(p));
  if (bad !== undefined || names.length === 0) {
    throw new UserError(`--peer: ${show(v)} is not allowed; expected ${PEERS.join(', ')} or both comma-separated`);
  }
  return new Set(names);
}

const COLUMNS: Array<[keyof PerfRecord, string]> = [
  ['suite', 'suite'],
  ['name', 'name'],
  ['impl', 'impl'],
  ['backend', 'backend'],
  ['B', 'B'],
  ['N', 'N'],
  ['D', 'D'],
  ['medianMs', 'median ms'],
  ['minMs', 'min ms'],
  ['maxMs', 'max ms'],
  ['peakRssMb', 'peak RSS MB'],
  ['speedup', 'ours ×'],
  ['error', 'note'],
];

function tableRow(r: PerfRecord): string[] {
  return COLUMNS.map(([k]) => {
    const v = r[k];
    return v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? '' : String(v);
  });
}

function formatTable(rows: PerfRecord[]): string {
  return markdownTable(
    COLUMNS.map(([, h]) => h),
    rows.map(tableRow),
  );
}

const command: CommandModule<GlobalArgs, PerfArgs> = {
  command: 'perf',
  describe: 'Measure speed (median, spread over repeats) and peak memory of the losses, the exact evaluation and a training step',
  builder: (y) =>
    y
      .option('suite', { type: 'string', default: 'all', describe: `${SUITES.join(' | ')} | all` })
      .option('sizes', {
        type: 'string',
        describe: 'comma-separated B (losses, train) or N (eval); default: B 64,224,448,1024,2048; N 10000,60000; train B 224',
      })
      .option('loss', { type: 'string', describe: 'only this loss (default: every registered loss)' })
      .option('tensor-backends', {
        type: 'string',
        describe: 'backends for the tensor formulations and the training step (default: --backend if given, else wasm,cpu)',
      })
      .option('peer', {
        type: 'string',
        describe:
          'torch: the PyTorch peers of the losses beside ours (python3 with torch); faiss: faiss exact search beside the evaluation (python3 with faiss); comma-separated for both',
      })
      .option('json', { type: 'boolean', describe: 'one JSON object per line instead of a table' }),
  handler: async (args) => {
    const suites: Suite[] = args.suite === 'all' ? [...SUITES] : [args.suite as Suite];
    if (!suites.every((s) => (SUITES as readonly string[]).includes(s))) {
      throw new UserError(`--suite: ${show(args.suite)} is not allowed; expected one of ${SUITES.join(', ')}, all`);
    }
    const sizes = parseSizes(args.sizes);
    const tensorBackends = String(args['tensor-backends'] ?? args.backend ?? 'wasm,cpu')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const b of tensorBackends) await selectBackend(b);
    const registry = await lossRegistry(args);
    if (args.loss !== undefined) {
      const only = registry.get(args.loss);
      for (const name of registry.names()) if (name !== only.name) registry.remove(name);
    }
    const peers = parsePeers(args.peer);
    let peer: TorchPeer | undefined;
    if (peers.has('torch') && suites.includes('losses')) {
      const python = findTorchPython();
      if (python) peer = await TorchPeer.start(python);
      else process.stderr.write(NO_TORCH_MESSAGE + '\n');
    }
    let faissPython: string | undefined;
    if (peers.has('faiss') && suites.includes('eval')) {
      faissPython = findFaissPython() ?? undefined;
      if (!faissPython) process.stderr.write(NO_FAISS_MESSAGE + '\n');
    }
    const scratchDir = peer || faissPython ? mkdtempSync(join(tmpdir(), 'rankbench-peer-')) : undefined;
    const rows: PerfRecord[] = [];
    const live = process.stderr.isTTY && !process.env.CI;
    const t0 = Date.now();
    const ctx: SuiteContext = {
      registry,
      ...(sizes ? { sizes } : {}),
      tensorBackends,
      ...(peer ? { peer } : {}),
      ...(faissPython ? { faissPython } : {}),
      ...(scratchDir ? { scratchDir } : {}),
      emit: (r) => {
        rows.push(r);
        if (args.json)
          process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(r).filter(([, v]) => !(typeof v === 'number' && Number.isNaN(v))))) + '\n');
      },
      // What runs now, how many cases are done and for how long: a full run takes minutes.
      note: (s) => {
        if (live) process.stderr.write(`\r\x1b[2K[${rows.length} done, ${formatDuration(Date.now() - t0)}] measuring ${s}`);
      },
    };
    try {
      for (const phase of phases(suites)) await phase(ctx);
    } finally {
      peer?.close();
      if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
    }
    if (live) process.stderr.write('\r\x1b[2K');
    if (!args.json) process.stdout.write(formatTable(rows) + '\n');
  },
};

export default command;
