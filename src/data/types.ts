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
}

/** A dataset plugin is a plain object, like a loss plugin. */
export interface DatasetPlugin {
  name: string;
  description: string;
  params: readonly ParamSpec[];
  load(params: Params, opts: DatasetLoadOptions): Promise<LoadedDataset>;
}
