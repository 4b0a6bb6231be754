import type { ClaimSpec } from '../claims/types.js';
import type { Params } from '../core/params.js';
import type { RetrievalMetrics } from '../metrics/types.js';
import type { FoldSpec } from '../data/folds.js';
import type { PerClassMetrics } from '../metrics/per-class.js';
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
  /**
   * Evaluation protocol (eval-protocol.ts). Each is present only when it differs from the
   * default (leave-one-out, dot, per query, all test classes), so existing cells keep their
   * ids; perClass and draws only with gallery-draws.
   */
  protocol?: 'query-gallery' | 'gallery-draws';
  similarity?: 'cosine' | 'euclidean';
  averaging?: 'class';
  perClass?: number;
  draws?: number;
  testClasses?: number;
  /** Also record AP and R@1 per class of the trained model, leave-one-out (absent = no, so older ids stay). */
  classReport?: boolean;
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
  /**
   * A validation cell: trained and evaluated on class-disjoint folds of the train classes, the
   * test split never read. Absent for ordinary cells, so their ids are unchanged.
   */
  validation?: FoldSpec;
  eval: EvalSpec;
  seed: number;
}

export type ColumnValue = string | number | boolean | null;

/** What a cell's numbers depend on besides its configuration (see inputs.ts). */
export interface CellInputs {
  rankbench: string;
  /** Absolute path → sha256 of each file the dataset reads ("missing" when absent). */
  data: Record<string, string>;
  /** Loss name → the plugin file it was loaded from and that file's sha256 (built-ins: none). */
  plugins: Record<string, { file: string; sha256: string }>;
}

export interface Cell {
  /** Hash of the configuration and the inputs' content. */
  id: string;
  /** Hash of the configuration alone: finds earlier results of the same settings on other inputs. */
  configId: string;
  inputs: CellInputs;
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
  /** The experiment file's folder (absolute): relative data paths in the file are read from it. */
  baseDir: string;
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

/** The content of results/<experiment>/cells/<id>.json: everything about one finished cell. */
export interface CellResult {
  id: string;
  experiment: string;
  config: CellConfig;
  /** Absent in cells written before inputs were recorded. */
  configId?: string;
  inputs?: CellInputs;
  swept: Record<string, ColumnValue>;
  dataset: string;
  loss: string;
  seed: number;
  metrics: RetrievalMetrics;
  untrained: RetrievalMetrics;
  /**
   * The same protocol on the dataset's own features (L2-normalised): training that ends below
   * this made retrieval worse than using the raw inputs. Absent in older cell files.
   */
  input?: RetrievalMetrics;
  apEstimate: ApEstimate | null;
  /** Per-class metrics of the trained model, when the cell's eval asks for them. */
  perClass?: PerClassMetrics[];
  /** One small PK batch of the trained test embeddings (cells with an AP estimate; example-batch.ts). */
  exampleBatch?: { embeddings: number[][]; labels: number[] } | null;
  curve: StepRecord[];
  trainMs: number;
  startedAt: string;
  finishedAt: string;
}
