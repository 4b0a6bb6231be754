import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { evaluate, UserError } from '../../src/index.js';
import { bruteRetrieval, tiedData } from '../metrics/oracle.js';

tf.env().set('PROD', true); // no tfjs console notice in the test output

const rows = (x: Float64Array, n: number, d: number): number[][] => Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));

describe('evaluate (public API)', () => {
  const n = 60;
  const d = 5;
  const { x, labels } = tiedData(3, n, d, 7);
  const ks = [1, 2, 4, 8, 10];

  it('gives the brute-force metrics for number[][], a flat typed array with its shape, and a tensor', async () => {
    const want = bruteRetrieval(x, n, d, labels, ks);
    const got = [
      await evaluate(rows(x, n, d), Array.from(labels)),
      await evaluate({ data: x, shape: [n, d] }, labels),
      // Small integers: exact in float32 too, so the tensor's scores are the same numbers.
      await evaluate(
        tf.tensor2d(Float32Array.from(x), [n, d]),
        Array.from(labels, (l) => `class-${l}`),
      ),
    ];
    for (const m of got) {
      expect(m.queries).toBe(want.queries);
      for (const key of ['map', 'mapAtR', 'rPrecision', 'precisionAt1'] as const) expect(m[key]).toBeCloseTo(want[key], 12);
      expect(Object.keys(m.recallAt)).toEqual(ks.map(String));
      for (const k of ks) expect(m.recallAt[k]).toBeCloseTo(want.recallAt[k]!, 12);
    }
  });

  it('resolves to exactly the object bench metrics prints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rankbench-evaluate-'));
    const input = join(dir, 'emb.json');
    writeFileSync(input, JSON.stringify({ embeddings: rows(x, n, d), labels: Array.from(labels) }));
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'metrics', '--input', input], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(await evaluate(rows(x, n, d), Array.from(labels))).toEqual(JSON.parse(r.stdout));
  });

  it('k: sorted and deduplicated as --k is', async () => {
    const m = await evaluate({ data: x, shape: [n, d] }, labels, { k: [4, 1, 4] });
    expect(Object.keys(m.recallAt)).toEqual(['1', '4']);
  });

  it('bad input is a one-line UserError naming the argument and what is allowed', async () => {
    const cases: Array<[Promise<unknown>, RegExp]> = [
      [evaluate({ data: new Float32Array(10), shape: [3, 4] }, [0, 0, 1]), /^evaluate: embeddings: 10 values for shape \[3, 4\]; expected 12$/],
      [
        evaluate(
          [
            [1, 0],
            [0, 1, 2],
          ],
          [0, 0],
        ),
        /^evaluate: embeddings\[1\]: expected 2 numbers like row 0, got \[0,1,2\]$/,
      ],
      [
        evaluate(
          [
            [1, 0],
            [NaN, 1],
          ],
          [0, 0],
        ),
        /^evaluate: embeddings: row 1, column 0 is NaN; every value must be a finite number$/,
      ],
      [
        evaluate(
          [
            [1, 0],
            [0, 1],
          ],
          [0],
        ),
        /^evaluate: labels: 1 labels for 2 embedding rows; the counts must be equal$/,
      ],
      [
        evaluate(
          [
            [1, 0],
            [0, 1],
          ],
          [0, 1],
        ),
        /^evaluate: no item has another item of its class/,
      ],
      [
        evaluate(
          [
            [1, 0],
            [0, 1],
          ],
          [0, 0],
          { k: [0] },
        ),
        /^evaluate: options\.k is \[0\]; expected a non-empty array of positive integers/,
      ],
    ];
    for (const [p, re] of cases) {
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).toMatch(re);
    }
  });
});
