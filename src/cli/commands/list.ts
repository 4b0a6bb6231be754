import { relative } from 'node:path';
import type { CommandModule } from 'yargs';
import { describeAllowed, type ParamSpec } from '../../core/params.js';
import { builtinDatasets } from '../../data/index.js';
import { experimentCatalogue } from '../../experiments/file.js';
import { experimentFormat } from '../../experiments/format.js';
import { objectFields } from '../../core/shape.js';
import { TRAIN_PARAM_SPECS } from '../../train/config.js';
import { lossRegistry, type GlobalArgs } from '../context.js';

function shown(v: unknown): string {
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function formatParams(params: readonly ParamSpec[], prefix = ''): string[] {
  return params.map((p) => `    ${prefix}${p.name} = ${shown(p.default)}  (${describeAllowed(p)})  ${p.doc}`);
}

/**
 * The train.* keys an experiment may set (the seed comes from `seeds`), and the eval.* keys read
 * from the experiment format itself: the defaults it fills in and the rules it checks.
 */
function experimentKeys(): { train: ParamSpec[]; eval: Array<{ name: string; default: unknown; allowed?: string; doc?: string }> } {
  return {
    train: TRAIN_PARAM_SPECS.filter((s) => s.name !== 'seed'),
    eval: objectFields(experimentFormat, ['base', 'eval']).map((f) => ({
      name: f.name,
      default: f.default ?? null,
      ...(f.spec ? { allowed: describeAllowed(f.spec) } : {}),
      ...(f.doc !== undefined ? { doc: f.doc } : {}),
    })),
  };
}

const command: CommandModule<GlobalArgs, GlobalArgs & { json?: boolean }> = {
  command: 'list',
  describe: 'List losses (with parameters and defaults), datasets and experiments',
  builder: (y) => y.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (args) => {
    const reg = await lossRegistry(args);
    const losses = reg.all();
    if (args.json) {
      const pick = ({ name, description, params }: { name: string; description: string; params: readonly ParamSpec[] }) => ({ name, description, params });
      process.stdout.write(
        JSON.stringify(
          { losses: losses.map(pick), datasets: builtinDatasets.map(pick), experiments: experimentCatalogue(), experimentKeys: experimentKeys() },
          null,
          2,
        ) + '\n',
      );
      return;
    }
    const lines = ['Losses:'];
    for (const l of losses) lines.push(`  ${l.name}: ${l.description}`, ...formatParams(l.params));
    lines.push('', 'Datasets:');
    for (const d of builtinDatasets) lines.push(`  ${d.name}: ${d.description}`, ...formatParams(d.params));
    const keys = experimentKeys();
    lines.push('', 'Experiment keys (base.train / base.eval in a file, or any key path in sweep, datasets[].set and --set):');
    lines.push(...formatParams(keys.train, 'train.'));
    for (const e of keys.eval) lines.push(`    eval.${e.name} = ${[shown(e.default), e.allowed && `(${e.allowed})`, e.doc].filter(Boolean).join('  ')}`);
    lines.push('', 'Experiments (bench run <name>):');
    for (const e of experimentCatalogue()) lines.push(`  ${e.name}: ${e.description.replace(/\s+/g, ' ').trim()}  [${relative(process.cwd(), e.file)}]`);
    process.stdout.write(lines.join('\n') + '\n');
  },
};

export default command;
