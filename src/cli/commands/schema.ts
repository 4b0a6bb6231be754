import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../../core/atomic.js';
import { experimentSchema } from '../../experiments/schema.js';
import { lossRegistry, type GlobalArgs } from '../context.js';

const command: CommandModule<GlobalArgs, GlobalArgs & { output?: string }> = {
  command: 'schema',
  describe: 'Print the JSON Schema of experiment files (every key, default and range; losses from --plugin included) for editor completion',
  builder: (y) => y.option('output', { type: 'string', describe: 'write it to this file instead of printing it' }),
  handler: async (args) => {
    const text = JSON.stringify(experimentSchema((await lossRegistry(args)).all()), null, 2) + '\n';
    if (args.output) {
      writeFileAtomic(args.output, text);
      process.stdout.write(`schema: ${args.output}\n`);
    } else process.stdout.write(text);
  },
};

export default command;
