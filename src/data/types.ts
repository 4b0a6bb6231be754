import type { ParamSpec, Params } from '../core/params.js';

/** One split of a dataset: n rows of `dim` float features (flattened images in HWC order). */
export interface Split {
  x: Float32Array;
  n: number;
  dim: number;
  /** [height, width, channels] for image datasets, so a convnet can reshape rows. */
  imageShape?: [number, number, number];
  labels: Int32Array;
}

export type SplitKind = 'class-disjoint' | 'closed-set';

export interface LoadedDataset {
  name: string;
  train: Split;
  test: Split;
  splitKind: SplitKind;
  /**
   * The user's label of each class index (labels are re-coded 0..C-1 on load), so that messages
   * name the class the way the user's files do. Absent when the labels are the indices.
   */
  classNames?: readonly string[];
  /**
   * Super-class of each class index, where the dataset has them (synthetic): validation folds
   * are balanced by it. Absent when the dataset has none.
   */
  superClassOf?: Int32Array;
  /**
   * For the query-gallery protocol (In-Shop style): test rows the dataset marks as queries and
   * as gallery; both or neither. Both are also part of `test`.
   */
  query?: Split;
  gallery?: Split;
}

export interface DatasetLoadOptions {
  seed: number;
  /** Overrides where file-backed datasets read from (`--data-dir`). */
  dataDir?: string;
  /**
   * The folder of the experiment file: a relative path in the file means a file beside it,
   * wherever bench was started. `dataDir` wins when both are given.
   */
  baseDir?: string;
}

/** A dataset plugin is a plain object, like a loss plugin. */
export interface DatasetPlugin {
  name: string;
  description: string;
  params: readonly ParamSpec[];
  load(params: Params, opts: DatasetLoadOptions): Promise<LoadedDataset>;
  /**
   * The files whose content decides the data (absolute paths): a cell's identity includes their
   * digests, so replacing a file under the same name makes new cells instead of stale reuse.
   * A generated dataset has none (its generator is covered by rankbench's version).
   */
  inputFiles?(params: Params, opts: DatasetLoadOptions): string[];
}
