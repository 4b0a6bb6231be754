import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { queryGalleryPerQuery as qgFromSources, retrievalPerQuery as fromSources } from '../../src/metrics/retrieval.js';
import { bruteRetrieval, gaussianData, tiedData } from './oracle.js';

// Worker threads run the compiled worker script, so this test drives the build in dist/
// (the test command runs tsc first); the sources under vitest evaluate in-thread.
const compiled = join(process.cwd(), 'dist', 'metrics', 'retrieval.js');
type Mod = typeof import('../../src/metrics/retrieval.js');

async function dist(): Promise<Mod> {
  expect(existsSync(compiled), `${compiled} missing: run npx tsc -p . first`).toBe(true);
  return (await import(pathToFileURL(compiled).href)) as Mod;
}

describe('evaluateRetrieval on worker threads', () => {
  it('splits query blocks over 2 workers and equals the in-thread evaluation exactly', async () => {
    const { retrievalPerQuery } = await dist();
    const { x, labels } = tiedData(21, 500, 4, 12);
    const threaded = await retrievalPerQuery(x, 500, 4, labels, { workers: 2, blockSize: 8 });
    expect(threaded.workersUsed).toBe(2);
    const single = await fromSources(x, 500, 4, labels, { workers: 1, blockSize: 500 });
    expect(Array.from(threaded.perQuery)).toEqual(Array.from(single.perQuery));
  });

  it('runs the half-Gram path on 2 workers, equal to the in-thread row-wise evaluation', async () => {
    const { retrievalPerQuery } = await dist();
    const { x, labels } = gaussianData(25, 700, 6, 70);
    const threaded = await retrievalPerQuery(x, 700, 6, labels, { workers: 2, blockSize: 24, symmetric: true });
    expect(threaded.halfGram).toBe(true);
    expect(threaded.workersUsed).toBe(2);
    const single = await fromSources(x, 700, 6, labels, { workers: 1, symmetric: false });
    expect(Array.from(threaded.perQuery)).toEqual(Array.from(single.perQuery));
  });

  it('matches the brute force with workers, on Gaussian float32 input', async () => {
    const { evaluateRetrieval } = await dist();
    const { x: x64, labels } = gaussianData(22, 400, 12, 40);
    const x = Float32Array.from(x64);
    const ks = [1, 2, 4, 8, 10, 100];
    const got = await evaluateRetrieval(x, 400, 12, labels, { workers: 2, blockSize: 6, k: ks });
    const want = bruteRetrieval(x, 400, 12, labels, ks);
    expect(got.queries).toBe(want.queries);
    expect(got.map).toBeCloseTo(want.map, 12);
    expect(got.mapAtR).toBeCloseTo(want.mapAtR, 12);
    expect(got.rPrecision).toBeCloseTo(want.rPrecision, 12);
    expect(got.precisionAt1).toBeCloseTo(want.precisionAt1, 12);
    for (const k of ks) expect(got.recallAt[String(k)]).toBeCloseTo(want.recallAt[String(k)], 12);
  });

  it('splits a query set against a separate gallery over 2 workers, equal to the in-thread evaluation', async () => {
    const { queryGalleryPerQuery } = await dist();
    const q = tiedData(23, 300, 4, 12);
    const g = tiedData(24, 420, 4, 12);
    for (const similarity of ['dot', 'euclidean'] as const) {
      const query = { x: q.x, n: 300, labels: q.labels };
      const gallery = { x: g.x, n: 420, labels: g.labels };
      const threaded = await queryGalleryPerQuery(query, gallery, 4, { workers: 2, blockSize: 8, similarity });
      expect(threaded.workersUsed).toBe(2);
      const single = await qgFromSources(query, gallery, 4, { workers: 1, blockSize: 300, similarity });
      expect(Array.from(threaded.perQuery)).toEqual(Array.from(single.perQuery));
    }
  });
});
