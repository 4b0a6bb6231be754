import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError, show } from '../core/errors.js';

export const BACKENDS = ['cpu', 'wasm', 'tensorflow', 'tensorflow-gpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const require = createRequire(import.meta.url);

/** Native backends are optional peers: imported only when asked for. */
const NATIVE: Record<string, { pkg: string; tfName: string }> = {
  tensorflow: { pkg: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  'tensorflow-gpu': { pkg: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
};

async function loadWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the wasm binaries are read from the package folder, never fetched.
  const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/');
  wasm.setWasmPaths(dist);
}

async function loadNative(name: string): Promise<void> {
  const { pkg } = NATIVE[name]!;
  try {
    await import(pkg);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? 'is not installed' : `failed to load (${(e as Error).message.split('\n')[0]})`;
    throw new UserError(
      `--backend ${name}: ${pkg} ${why}; install it with "npm install ${pkg}@4.22.0" on a machine that can download libtensorflow` +
        (name === 'tensorflow-gpu' ? ' and has CUDA 11.2 + cuDNN 8.1' : '') +
        ', or use --backend cpu|wasm',
    );
  }
}

export const DEFAULT_BACKEND: BackendName = 'wasm';

let active: string | undefined;

/**
 * Selects the tfjs backend. The default is `wasm`, the fastest that works offline here (a
 * 512×512 matmul: 14 ms on wasm vs 670 ms on cpu); it lacks some gradients (gather), so the
 * training code avoids those ops.
 */
export async function selectBackend(name: string | undefined = undefined): Promise<string> {
  const want = name ?? DEFAULT_BACKEND;
  if (!(BACKENDS as readonly string[]).includes(want)) {
    throw new UserError(`--backend: ${show(want)} is not a backend; allowed: ${BACKENDS.join(', ')}`);
  }
  if (active === want) return want;
  tf.env().set('PROD', true);
  if (want === 'wasm') await loadWasm();
  if (want in NATIVE) await loadNative(want);
  const tfName = NATIVE[want]?.tfName ?? want;
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new UserError(`--backend ${want}: the backend failed to initialise`);
  await tf.ready();
  active = want;
  return want;
}

export function activeBackend(): string | undefined {
  return active;
}
