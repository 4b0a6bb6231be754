import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The installed folder of a package. Its browser bundles are not in the package's "exports", so
 * neither require nor import reaches them: start at the resolved entry and walk up to the
 * package.json that carries the package's name.
 */
export function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the package folder of ${name} above ${require.resolve(name)}`);
    dir = up;
  }
}

export interface Bundle {
  name: string;
  version: string;
  source: string;
}

const BUNDLES: [string, string][] = [
  ['vega', 'build/vega.min.js'],
  ['vega-lite', 'build/vega-lite.min.js'],
  ['vega-embed', 'build/vega-embed.min.js'],
];

let cached: Bundle[] | undefined;

/** vega, vega-lite and vega-embed UMD bundles, in load order (each needs the ones before). */
export function vegaBundles(): Bundle[] {
  cached ??= BUNDLES.map(([name, file]) => {
    const dir = packageDir(name);
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
    return { name, version, source: readFileSync(join(dir, file), 'utf8') };
  });
  return cached;
}
