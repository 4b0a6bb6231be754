import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { builtinDatasets, datasetNames, getDataset, loadDataset } from '../../src/data/index.js';

describe('dataset registry', () => {
  it('lists the four built-ins', () => {
    expect(datasetNames()).toEqual(['synthetic', 'mnist', 'fashion-mnist', 'features']);
    expect(builtinDatasets.map((d) => d.name)).toEqual(datasetNames());
  });

  it('every plugin is well formed and declares a split parameter with its default', () => {
    const defaults: Record<string, string> = {
      synthetic: 'class-disjoint',
      features: 'class-disjoint',
      mnist: 'closed-set',
      'fashion-mnist': 'closed-set',
    };
    for (const d of builtinDatasets) {
      expect(d.description.length).toBeGreaterThan(10);
      expect(d.description).not.toContain('\n');
      expect(typeof d.load).toBe('function');
      const names = d.params.map((p) => p.name);
      expect(new Set(names).size).toBe(names.length);
      const split = d.params.find((p) => p.name === 'split')!;
      expect(split.type).toBe('enum');
      expect(split.values).toEqual(['class-disjoint', 'closed-set']);
      expect([d.name, split.default]).toEqual([d.name, defaults[d.name]]);
    }
  });

  it('unknown dataset: a UserError listing the available ones', () => {
    expect(() => getDataset('sop')).toThrow(UserError);
    expect(() => getDataset('sop')).toThrow('dataset: "sop" is not a known dataset; available: synthetic, mnist, fashion-mnist, features');
  });

  it('loadDataset validates parameters against the plugin specs', async () => {
    await expect(loadDataset('synthetic', { clases: 10 }, { seed: 0 })).rejects.toThrow(/dataset synthetic: unknown parameter "clases"; allowed: classes/);
    await expect(loadDataset('synthetic', { split: 'open' }, { seed: 0 })).rejects.toThrow(
      /dataset synthetic\.split: "open" is not allowed; expected one of class-disjoint, closed-set/,
    );
    await expect(loadDataset('synthetic', { perClass: '1' }, { seed: 0 })).rejects.toThrow(/perClass: "1" is not allowed; expected an integer >= 2/);
    const ds = await loadDataset('synthetic', { classes: '10', perClass: '3', dim: '8' }, { seed: 0 });
    expect([ds.name, ds.train.n, ds.test.n, ds.train.dim]).toEqual(['synthetic', 15, 15, 8]);
  });
});
