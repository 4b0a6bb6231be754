/** A claim as an experiment file states it, validated (src/claims/parse.ts). */

export type Scalar = string | number | boolean;

/** A metric column, or the difference of two, optionally as an absolute value: `|apEstimate - trueAP|`. */
export interface MetricExpr {
  a: string;
  b?: string;
  abs: boolean;
  /** As written in the file (shown in tables and sentences). */
  text: string;
}

export const VERDICTS = ['holds', 'does not hold', 'inconclusive', 'not enough seeds'] as const;
export type Verdict = (typeof VERDICTS)[number];

interface ClaimBase {
  /** The sentence, as the file gives it. */
  text: string;
  /** Only cells with these values take part (key path or dataset/loss → value). */
  where: Record<string, Scalar>;
  /** `bench check` fails when the verdict (on any dataset) differs from this. */
  pin?: Verdict;
}

/** The named value of `param` beats every other value of it on `metric`. */
export interface BestClaim extends ClaimBase {
  kind: 'best';
  param: string;
  value: Scalar;
  metric: MetricExpr;
  goal: 'higher' | 'lower';
}

/** `metric` rises (increasing) or falls (decreasing) with `param`. */
export interface TrendClaim extends ClaimBase {
  kind: 'trend';
  param: string;
  metric: MetricExpr;
  direction: 'increasing' | 'decreasing';
}

/**
 * A beats each of B. With `param`: a and b are values of it and `metrics` the metrics compared.
 * Without: a and b are two metrics of the same cell (e.g. map against untrainedMap).
 */
export interface BetterClaim extends ClaimBase {
  kind: 'better';
  param: string | null;
  a: Scalar;
  b: Scalar[];
  metrics: MetricExpr[];
  goal: 'higher' | 'lower';
}

export type ClaimSpec = BestClaim | TrendClaim | BetterClaim;
