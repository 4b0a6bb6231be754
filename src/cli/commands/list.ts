import type { CommandModule } from 'yargs';
import { describeAllowed, type ParamSpec } from '../../core/params.js';
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
      process.stdout.write(JSON.stringify({ losses: losses.map(({ name, description, params }) => ({ name, description, params })) }, null, 2) + '\n');
      return;
    }
    const lines = ['Losses:'];
    for (const l of losses) lines.push(`  ${l.name}: ${l.description}`, ...formatParams(l.params));
    process.stdout.write(lines.join('\n') + '\n');
  },
};

export default command;
