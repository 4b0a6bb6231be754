/** Six cells (2 τ × 3 seeds) of `iterations` steps: short enough for CI, long enough to catch mid-cell. */
export const clusterExperiment = (iterations: number): string => `
description: cluster test
base:
  dataset: { name: synthetic, params: { classes: 30, perClass: 4, dim: 8 } }
  train: { model: linear, embeddingDim: 8, iterations: ${iterations}, batchSize: 16, perClass: 2 }
  loss: { name: smooth-ap }
  eval: { k: [1, 2], estimateBatches: 1 }
seeds: [0, 1, 2]
sweep:
  grid:
    loss.params.tau: [0.1, 0.01]
`;

/** Cell ids a run trained, from its one-line-per-cell progress ("cell i/n <id> ..."). */
export const ranIds = (log: string): string[] => [...log.matchAll(/^cell \d+\/\d+ ([0-9a-f]{12}) /gm)].map((m) => m[1]!);
