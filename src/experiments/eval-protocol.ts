import { UserError } from '../core/errors.js';
import type { ParamSpec, ParamValue } from '../core/params.js';
import { SIMILARITIES, type Similarity } from '../metrics/similarity.js';
import { AVERAGINGS, type Averaging } from '../metrics/types.js';
import type { EvalSpec } from './types.js';

/**
 * How a cell's test split is evaluated:
 * - leave-one-out (default): every test item a query against all others (SOP, CUB, Cars);
 * - query-gallery: the dataset's query split against its gallery split (In-Shop);
 * - gallery-draws: from the test split, `perClass` items of each class drawn into the gallery,
 *   the rest queries, repeated `draws` times with seeded draws (VehicleID, face and re-id sets);
 *   the metrics are the mean over draws, with their spread.
 */
export type Protocol = 'leave-one-out' | 'query-gallery' | 'gallery-draws';
export const PROTOCOLS: readonly Protocol[] = ['leave-one-out', 'query-gallery', 'gallery-draws'];

/** The evaluation settings of a cell with every default filled. */
export interface ProtocolSettings {
  protocol: Protocol;
  similarity: Similarity;
  averaging: Averaging;
  /** gallery-draws: gallery items per class, and how many draws. */
  perClass: number;
  draws: number;
  /** A seeded subset of this many test classes (VehicleID's small/medium/large); 0 = all. */
  testClasses: number;
}

export const DEFAULT_PROTOCOL: ProtocolSettings = {
  protocol: 'leave-one-out',
  similarity: 'dot',
  averaging: 'query',
  perClass: 1,
  draws: 10,
  testClasses: 0,
};

/** The eval keys of this module, with their specs (settable in experiment files and sweeps). */
export const PROTOCOL_SPECS: readonly ParamSpec[] = [
  { name: 'protocol', type: 'enum', values: PROTOCOLS, default: DEFAULT_PROTOCOL.protocol, doc: 'how test queries meet the gallery' },
  { name: 'similarity', type: 'enum', values: SIMILARITIES, default: DEFAULT_PROTOCOL.similarity, doc: 'dot, cosine, or euclidean (smaller distance first)' },
  { name: 'averaging', type: 'enum', values: AVERAGINGS, default: DEFAULT_PROTOCOL.averaging, doc: 'mean over queries, or over classes of per-class means' },
  { name: 'perClass', type: 'integer', min: 1, max: 10_000, default: DEFAULT_PROTOCOL.perClass, doc: 'gallery-draws: gallery items drawn per class' },
  { name: 'draws', type: 'integer', min: 1, max: 1000, default: DEFAULT_PROTOCOL.draws, doc: 'gallery-draws: how many seeded draws' },
  {
    name: 'testClasses',
    type: 'integer',
    min: 0,
    max: 10_000_000,
    default: DEFAULT_PROTOCOL.testClasses,
    doc: 'a seeded subset of this many test classes; 0 = all',
  },
];

export const PROTOCOL_FIELDS: readonly string[] = PROTOCOL_SPECS.map((s) => s.name);

/** A cell's settings with defaults filled. */
export function protocolOf(e: EvalSpec): ProtocolSettings {
  return {
    protocol: e.protocol ?? DEFAULT_PROTOCOL.protocol,
    similarity: e.similarity ?? DEFAULT_PROTOCOL.similarity,
    averaging: e.averaging ?? DEFAULT_PROTOCOL.averaging,
    perClass: e.perClass ?? DEFAULT_PROTOCOL.perClass,
    draws: e.draws ?? DEFAULT_PROTOCOL.draws,
    testClasses: e.testClasses ?? DEFAULT_PROTOCOL.testClasses,
  };
}

/**
 * The protocol fields of an EvalSpec from checked values (`get(name)` → the value, or undefined
 * when not set; `origin(name)` → where it was set, for messages). Only values that differ from
 * the defaults are kept, so existing experiments keep their cell ids; perClass and draws belong
 * to gallery-draws (filled there, an error elsewhere).
 */
export function protocolFields(get: (name: string) => ParamValue | undefined, origin: (name: string) => string): Partial<EvalSpec> {
  const out: Partial<EvalSpec> = {};
  const protocol = (get('protocol') ?? DEFAULT_PROTOCOL.protocol) as Protocol;
  if (protocol !== 'leave-one-out') out.protocol = protocol;
  const similarity = get('similarity') as Similarity | undefined;
  if (similarity !== undefined && similarity !== 'dot') out.similarity = similarity;
  const averaging = get('averaging') as Averaging | undefined;
  if (averaging !== undefined && averaging !== 'query') out.averaging = averaging;
  if (protocol === 'gallery-draws') {
    out.perClass = (get('perClass') ?? DEFAULT_PROTOCOL.perClass) as number;
    out.draws = (get('draws') ?? DEFAULT_PROTOCOL.draws) as number;
  } else {
    for (const k of ['perClass', 'draws']) {
      if (get(k) !== undefined) throw new UserError(`${origin(k)}: eval.${k} applies to eval.protocol gallery-draws only; this cell's protocol is ${protocol}`);
    }
  }
  const testClasses = get('testClasses') as number | undefined;
  if (testClasses !== undefined && testClasses !== 0) out.testClasses = testClasses;
  return out;
}

/** One line saying how the numbers were produced, for summaries and the report. */
export function describeProtocol(p: ProtocolSettings): string {
  const how = p.protocol === 'gallery-draws' ? `gallery-draws (${p.perClass} per class, ${p.draws} draws)` : p.protocol;
  const subset = p.testClasses ? `, ${p.testClasses} test classes` : '';
  return `${how}${subset}, ${p.similarity} similarity, averaged per ${p.averaging}`;
}
