import * as tf from '@tensorflow/tfjs';
import type { CommandModule } from 'yargs';
import { UserError, show } from '../../core/errors.js';
import { parseSetArgs, resolveParams, type Params } from '../../core/params.js';
import { Rng } from '../../core/rng.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { selectBackend } from '../../backend/index.js';
import { batchAveragePrecision } from '../../metrics/average-precision.js';
import { meanValid } from '../../losses/kernels/batch.js';
import { lossFailure } from '../../losses/plugin-errors.js';
import type { LossPlugin } from '../../losses/types.js';
import { readBatchFile, type BatchFile } from '../batch-file.js';
import { lossRegistry, type GlobalArgs } from '../context.js';

interface LossArgs extends GlobalArgs {
  name: string;
  input: string;
  set?: string[];
  seed: number;
  output?: string;
}

interface Evaluated {
  loss: number;
  grad: ArrayLike<number>;
  apPerQuery?: Float64Array;
}

/** Float64 kernel when the plugin has one (exact gradients); otherwise tfjs autodiff of compute. */
async function evaluate(plugin: LossPlugin, batch: BatchFile, params: Params, seed: number, backend: string | undefined): Promise<Evaluated> {
  const ctx = { rng: new Rng(seed), tf };
  if (plugin.kernel) return plugin.kernel(batch.x, batch.n, batch.d, batch.labels, params, ctx);
  await selectBackend(backend ?? 'cpu');
  const e = tf.tensor2d(Float32Array.from(batch.x), [batch.n, batch.d]);
  let apPerQuery: Float64Array | undefined;
  try {
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => {
      const out = plugin.compute(t as tf.Tensor2D, batch.labels, params, ctx);
      apPerQuery = out.apPerQuery;
      return out.loss;
    })(e);
    const result = { loss: value.dataSync()[0]!, grad: grad.dataSync(), apPerQuery };
    tf.dispose([value, grad]);
    return result;
  } catch (e) {
    // The backward pass runs outside the plugin's compute: its failures are the plugin's too.
    throw lossFailure(plugin, e);
  } finally {
    e.dispose();
  }
}

function rows(flat: ArrayLike<number>, n: number, d: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, k) => flat[i * d + k]!));
}

const command: CommandModule<GlobalArgs, LossArgs> = {
  command: 'loss <name>',
  describe: 'Compute a loss, its gradient, its AP estimate and the true AP on a batch from a JSON file',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'loss name (see bench list)' })
      .option('input', { type: 'string', demandOption: true, describe: 'JSON file {"embeddings": number[][], "labels": (number|string)[]}' })
      .option('set', { type: 'string', array: true, describe: 'loss parameter, key=value (repeatable)' })
      .option('seed', { type: 'number', default: 0, describe: "seed of the loss's random generator (e.g. Blackbox-AP's margin noise)" })
      .option('output', { type: 'string', describe: 'write the JSON result here (atomically) instead of stdout' }),
  handler: async (args) => {
    if (!Number.isInteger(args.seed) || args.seed < 0) throw new UserError(`--seed: ${show(args.seed)} is not allowed; expected an integer >= 0`);
    const reg = await lossRegistry(args);
    const plugin = reg.get(args.name);
    const params = resolveParams(plugin.params, parseSetArgs(args.set), `loss ${plugin.name}`);
    const batch = readBatchFile(args.input);
    const out = await evaluate(plugin, batch, params, args.seed, args.backend);
    if (!Number.isFinite(out.loss)) throw new UserError(`loss ${plugin.name} gave ${out.loss} on ${args.input} with ${JSON.stringify(params)}`);

    const includeQuery = plugin.apConvention ? plugin.apConvention(params).includeQuery : false;
    const apEstimate = plugin.apConvention && out.apPerQuery ? meanValid(out.apPerQuery) : NaN;
    const trueAP = meanValid(batchAveragePrecision(batch.x, batch.n, batch.d, batch.labels, includeQuery));
    const result = {
      name: plugin.name,
      params,
      loss: out.loss,
      apEstimate: Number.isNaN(apEstimate) ? null : apEstimate,
      trueAP: Number.isNaN(trueAP) ? null : trueAP,
      includeQuery,
      grad: rows(out.grad, batch.n, batch.d),
    };
    const text = JSON.stringify(result) + '\n';
    if (args.output) writeFileAtomic(args.output, text);
    else process.stdout.write(text);
  },
};

export default command;
