import { relative } from 'node:path';
import type { CommandModule } from 'yargs';
import { describeAllowed, type ParamSpec } from '../../core/params.js';
import { builtinDatasets } from '../../data/index.js';
import { experimentCatalogue } from '../../experiments/file.js';
import { lossRegistry, type GlobalArgs } from '../context.js';

function formatParams(params: readonly ParamSpec[]): string[] {
  return params.map((p) => `    ${p.name} = ${String(p.default)}  (${describeAllowed(p)})  ${p.doc}`);
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
      process.stdout.write(JSON.stringify({ losses: losses.map(pick), datasets: builtinDatasets.map(pick), experiments: experimentCatalogue() }, null, 2) + '\n');
      return;
    }
    const lines = ['Losses:'];
    for (const l of losses) lines.push(`  ${l.name}: ${l.description}`, ...formatParams(l.params));
    lines.push('', 'Datasets:');
    for (const d of builtinDatasets) lines.push(`  ${d.name}: ${d.description}`, ...formatParams(d.params));
    lines.push('', 'Experiments (bench run <name>):');
    for (const e of experimentCatalogue()) lines.push(`  ${e.name}: ${e.description.replace(/\s+/g, ' ').trim()}  [${relative(process.cwd(), e.file)}]`);
    process.stdout.write(lines.join('\n') + '\n');
  },
};

export default command;
