import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { groupByClass } from './classes.js';

export interface PKSamplerOptions {
  /**
   * Lets a class with fewer than P samples fill its block by repeating its samples (every
   * sample once before any repeats). Classes with at least P samples are unaffected.
   */
  withReplacement?: boolean;
  /** The user's label of each class index, so that messages name a class as the data files do. */
  classNames?: readonly string[];
}

/**
 * PK batches as in the Smooth-AP code: each epoch the classes are shuffled and cut into groups
 * of B/P; each group is one batch, P samples per class laid out as contiguous blocks
 * (A,A,A,A,B,B,B,B,...). Classes left over when B/P does not divide the class count sit that
 * epoch out (the next shuffle gives them their turn). Within a class, samples are drawn from a
 * shuffled cycle so that all are used before any is reused.
 */
export class PKSampler {
  readonly batchSize: number;
  readonly perClass: number;
  readonly classesPerBatch: number;
  readonly batchesPerEpoch: number;
  private readonly classes: Int32Array;
  private readonly rows: Int32Array[];
  private readonly cursor: Int32Array;
  private readonly rng: Rng;
  private readonly withReplacement: boolean;
  private order: Int32Array;
  private batchInEpoch = 0;
  private epochCount = 0;

  constructor(labels: Int32Array, batchSize: number, perClass: number, seed: number, opts: PKSamplerOptions = {}) {
    if (!Number.isInteger(batchSize) || batchSize < 2) {
      throw new UserError(`batchSize: ${batchSize} is not allowed; expected an integer >= 2`);
    }
    if (!Number.isInteger(perClass) || perClass < 2) {
      throw new UserError(`perClass: ${perClass} is not allowed; expected an integer >= 2 (a class needs two samples in a batch to give a positive pair)`);
    }
    if (batchSize % perClass !== 0) {
      throw new UserError(`batchSize: ${batchSize} is not divisible by perClass ${perClass}; expected a multiple of ${perClass}`);
    }
    const { classes, rows } = groupByClass(labels);
    const m = batchSize / perClass;
    if (m > classes.length) {
      throw new UserError(
        `batchSize: ${batchSize} / perClass ${perClass} = ${m} classes per batch, but the data have only ${classes.length} classes; ` +
          `expected batchSize <= ${classes.length * perClass}`,
      );
    }
    this.withReplacement = opts.withReplacement ?? false;
    const name = (k: number): string => opts.classNames?.[classes[k]!] ?? String(classes[k]);
    for (let k = 0; k < classes.length; k++) {
      const count = rows[k]!.length;
      if (count < 2) {
        throw new UserError(
          `labels: class ${name(k)} has ${count} sample and can never give a positive pair; expected every class to have >= 2 samples ` +
            `(set dataset.params.minPerClass: 2 to drop such classes)`,
        );
      }
      if (count < perClass && !this.withReplacement) {
        throw new UserError(
          `perClass: ${perClass} is more than the ${count} samples of class ${name(k)}; expected perClass <= ${count}, ` +
            `or set train.withReplacement: true, or drop small classes with dataset.params.minPerClass: ${perClass}`,
        );
      }
    }
    this.batchSize = batchSize;
    this.perClass = perClass;
    this.classesPerBatch = m;
    this.batchesPerEpoch = Math.floor(classes.length / m);
    this.classes = classes;
    this.rows = rows.map((r) => Int32Array.from(r));
    this.cursor = new Int32Array(classes.length);
    this.rng = new Rng(seed);
    for (const r of this.rows) this.rng.shuffle(r);
    this.order = this.newEpochOrder();
  }

  /** Completed epochs so far. */
  get epoch(): number {
    return this.epochCount;
  }

  /** The next batch: B row indices, B/P distinct classes, P contiguous rows each. */
  next(): Int32Array {
    if (this.batchInEpoch === this.batchesPerEpoch) {
      this.order = this.newEpochOrder();
      this.batchInEpoch = 0;
      this.epochCount++;
    }
    const { perClass: p, classesPerBatch: m } = this;
    const out = new Int32Array(this.batchSize);
    const base = this.batchInEpoch * m;
    for (let j = 0; j < m; j++) this.takeFromClass(this.order[base + j]!, out, j * p);
    this.batchInEpoch++;
    return out;
  }

  /** Class slots (indices into `classes`) in this epoch's order. */
  private newEpochOrder(): Int32Array {
    const order = new Int32Array(this.classes.length);
    for (let k = 0; k < order.length; k++) order[k] = k;
    return this.rng.shuffle(order) as Int32Array;
  }

  /** Writes P rows of class slot k at out[at..at+P), advancing that class's shuffled cycle. */
  private takeFromClass(k: number, out: Int32Array, at: number): void {
    const rows = this.rows[k]!;
    const p = this.perClass;
    if (rows.length >= p) {
      // Restart the cycle rather than wrap, so a block never holds the same sample twice.
      if (this.cursor[k]! + p > rows.length) {
        this.rng.shuffle(rows);
        this.cursor[k] = 0;
      }
      out.set(rows.subarray(this.cursor[k]!, this.cursor[k]! + p), at);
      this.cursor[k] = this.cursor[k]! + p;
      return;
    }
    // With replacement (checked in the constructor): whole shuffled passes over the class.
    for (let t = 0; t < p; t++) {
      if (this.cursor[k] === rows.length) {
        this.rng.shuffle(rows);
        this.cursor[k] = 0;
      }
      out[at + t] = rows[this.cursor[k]!]!;
      this.cursor[k] = this.cursor[k]! + 1;
    }
  }
}
