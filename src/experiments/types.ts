import type { ClaimSpec } from '../claims/types.js';
import type { Params } from '../core/params.js';
import type { RetrievalMetrics } from '../metrics/types.js';
import type { StepRecord, TrainConfig } from '../train/types.js';

/** A plugin reference with its fully resolved parameters (defaults filled). */
export interface NamedParams {
  name: string;
  params: Params;
}

/** Training fields of a cell; the seed lives at the cell's top level. */
export type TrainSpec = Omit<TrainConfig, 'seed'>;

export interface EvalSpec {
  /** Recall@K list, sorted ascending. */
  k: number[];
  /** PK test batches over which the loss's AP estimate is compared with the true AP (0 = skip). */
  estimateBatches: number;
}

/** Everything that determines one cell's numbers; its canonical JSON hashes to the cell id. */
export interface CellConfig {
  dataset: NamedParams;
  train: TrainSpec;
  loss: NamedParams;
  /**
   * The plugin whose AP estimate is compared with the true AP, when not the training loss.
   * Absent (not undefined-valued) when unset, so cells without it keep their ids.
   */
  estimator?: NamedParams;
  eval: EvalSpec;
  seed: number;
}

export type ColumnValue = string | number | boolean | null;

export interface Cell {
  id: string;
  config: CellConfig;
  /** Value of each swept column (key path) in this cell; null where the path does not apply. */
  swept: Record<string, ColumnValue>;
}

export interface Tolerance {
  abs: number;
  rel: number;
}

export interface ReportSpec {
  x?: string;
  logX?: boolean;
}

/** A `datasets:` entry: a dataset and, optionally, key paths it overrides (e.g. a P that fits its class count). */
export interface DatasetEntry {
  name: string;
  params: Record<string, unknown>;
  set: Record<string, unknown>;
}

export interface SweepSpec {
  grid: Record<string, unknown[]>;
  list: Record<string, unknown>[];
  exclude: Record<string, unknown>[];
}

/** Overrides given on the command line, applied on top of the file. */
export interface ExperimentOverrides {
  seeds?: number[];
  dataset?: string[];
  set?: Record<string, string>;
}

export interface ResolvedExperiment {
  name: string;
  file: string;
  description: string;
  /** The base configuration with defaults filled (dataset only when the file gives one). */
  base: { dataset: NamedParams | null; train: TrainSpec; loss: NamedParams; estimator?: NamedParams; eval: EvalSpec };
  seeds: number[];
  datasets: DatasetEntry[];
  sweep: SweepSpec;
  tolerances: Record<string, Tolerance>;
  report: ReportSpec;
  overrides: ExperimentOverrides;
  /** Column names (key paths) of the swept parameters, in results.csv order. */
  swept: string[];
  /** The file's `claims:` (src/claims/), answered after every run in claims.csv. */
  claims?: ClaimSpec[];
}

export interface ApEstimate {
  estimate: number;
  trueAP: number;
  gap: number;
  includeQuery: boolean;
}

/** The content of results/<experiment>/cells/<id>.json (pinned in the brief). */
export interface CellResult {
  id: string;
  experiment: string;
  config: CellConfig;
  swept: Record<string, ColumnValue>;
  dataset: string;
  loss: string;
  seed: number;
  metrics: RetrievalMetrics;
  untrained: RetrievalMetrics;
  apEstimate: ApEstimate | null;
  /** One small PK batch of the trained test embeddings (cells with an AP estimate; example-batch.ts). */
  exampleBatch?: { embeddings: number[][]; labels: number[] } | null;
  curve: StepRecord[];
  trainMs: number;
  startedAt: string;
  finishedAt: string;
}
