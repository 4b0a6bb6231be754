import { UserError } from '../core/errors.js';
import type { LossPlugin } from './types.js';

/**
 * A failure inside a user's loss plugin. It is a UserError: the CLI prints it as one line
 * naming the plugin, never as an internal error with a tfjs stack the user cannot act on.
 */
export class PluginError extends UserError {
  constructor(
    readonly plugin: string,
    message: string,
  ) {
    super(message);
    this.name = 'PluginError';
  }
}

/** Errors whose cause is known, and what to do about them. */
const HINTS: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => string]> = [
  [
    /gradient function not found for (\w+)/,
    (m) =>
      `tfjs has no gradient for ${m[1]} (e.g. tf.less, tf.greater, tf.argMax); use the fused kernel interface (a float64 "kernel" that returns its own gradient) or a differentiable op`,
  ],
  [
    /Kernel '(\w+)' not registered for backend '(\w+)'/,
    (m) => `the ${m[2]} backend has no ${m[1]} kernel; use another op or another --backend (cpu has them all)`,
  ],
];

/** Plugins that came from the user (files, library callers), as opposed to the built-ins. */
const external = new WeakSet<object>();

/** The one-line error for an exception thrown by plugin `name` during `phase`. */
export function pluginFailure(name: string, phase: string, e: unknown): PluginError {
  if (e instanceof PluginError && e.plugin === name) return e;
  const raw = e instanceof Error ? e.message : String(e);
  const first = (raw.split('\n').find((l) => l.trim() !== '') ?? '').trim().replace(/\.$/, '');
  let hint = '';
  for (const [re, say] of HINTS) {
    const m = re.exec(raw);
    if (m) {
      hint = `; ${say(m)}`;
      break;
    }
  }
  return new PluginError(name, `loss plugin ${name} failed in ${phase}: ${first || 'an error without a message'}${hint}`);
}

/**
 * Wraps a user's plugin so that an exception in any of its functions is reported as that
 * plugin's. Methods keep their own `this`.
 */
export function guardPlugin(plugin: LossPlugin): LossPlugin {
  const wrap =
    <A extends unknown[], R>(phase: string, f: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return f.apply(plugin, args);
      } catch (e) {
        throw pluginFailure(plugin.name, phase, e);
      }
    };
  const { apConvention, kernel } = plugin;
  const guarded: LossPlugin = {
    ...plugin,
    // Named again: a plugin that is a class instance may define them on its prototype.
    name: plugin.name,
    description: plugin.description,
    params: plugin.params,
    compute: wrap('compute', plugin.compute),
    ...(apConvention ? { apConvention: wrap('apConvention', apConvention) } : {}),
    ...(kernel ? { kernel: wrap('kernel', kernel) } : {}),
  };
  external.add(guarded);
  return guarded;
}

/**
 * For an error thrown while differentiating a loss (the backward pass runs outside `compute`,
 * so the guard above does not see it): a user plugin's failure becomes its one-line error;
 * anything else, including the built-ins' errors, is returned unchanged.
 */
export function lossFailure(plugin: LossPlugin, e: unknown): unknown {
  if (!external.has(plugin) || e instanceof UserError) return e;
  return pluginFailure(plugin.name, 'compute', e);
}
