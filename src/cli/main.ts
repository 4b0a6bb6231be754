#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CommandModule } from 'yargs';
import { UserError } from '../core/errors.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The name the user typed: the package installs this file as both `bench` and `rankbench` (the
 * name to use outside this repository, where `npx bench` finds an unrelated package).
 */
const NAME = basename(process.argv[1] ?? '') === 'rankbench' ? 'rankbench' : 'bench';

/**
 * Every file in cli/commands/ is one subcommand, named as its file: adding a command touches no
 * other file. Only the named command's module is imported (the others pull in tfjs or vega, ~1 s
 * of start-up); --help and unknown words load them all.
 */
async function loadCommands(argv: readonly string[]): Promise<CommandModule[]> {
  const dir = join(here, 'commands');
  const files = readdirSync(dir)
    .filter((f) => /\.js$/.test(f))
    .sort();
  const named = argv.find((a) => files.includes(`${a}.js`));
  const wanted = named && !argv.includes('--help') ? [`${named}.js`] : files;
  const mods = await Promise.all(wanted.map((f) => import(pathToFileURL(join(dir, f)).href)));
  return mods.map((m) => m.default as CommandModule);
}

function fail(message: string): never {
  process.stderr.write(`${NAME}: ${message.split('\n').filter(Boolean).join('; ')}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const cli = yargs(hideBin(process.argv))
    .scriptName(NAME)
    .usage('$0 <command> [options]')
    .option('backend', {
      type: 'string',
      describe: 'tfjs backend: cpu | wasm | tensorflow | tensorflow-gpu (default: wasm)',
    })
    .option('plugin', {
      type: 'string',
      describe: 'ESM file whose default export is a loss plugin or an array of them (repeatable)',
      coerce: (v: string | string[]) => (Array.isArray(v) ? v : [v]),
    })
    // A backend asked for must exist whatever the command, even one that never uses tfjs
    // (e.g. `bench loss` with a float64 kernel): silently running without it misleads. tfjs
    // is imported only when the flag is given.
    .middleware(async (argv) => {
      if (argv.backend === undefined) return;
      const { selectBackend } = await import('../backend/index.js');
      await selectBackend(String(argv.backend));
    })
    .strict()
    .demandCommand(1, `name a command; see ${NAME} --help`)
    .recommendCommands()
    .help()
    .wrap(process.stdout.isTTY ? Math.min(120, process.stdout.columns) : null)
    .fail((msg, err) => {
      if (err) throw err;
      // yargs's suggestion alone ("Did you mean list?") does not say what was wrong.
      const word = hideBin(process.argv).find((a) => !a.startsWith('-'));
      fail(/^Did you mean/.test(msg) ? `unknown command ${JSON.stringify(word)}; ${msg}` : msg);
    });
  for (const cmd of await loadCommands(hideBin(process.argv))) cli.command(cmd);
  await cli.parseAsync();
}

main().catch((e: unknown) => {
  if (e instanceof UserError) fail(e.message);
  process.stderr.write(`${NAME}: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
