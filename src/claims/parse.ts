import { show } from '../core/errors.js';
import { check, custom, list, map, object, required, text, type Shape } from '../core/shape.js';
import { VERDICTS, type ClaimSpec, type MetricExpr, type Scalar } from './types.js';

export interface ClaimContext {
  /** Throws the file's UserError for a key path and message. */
  fail(path: string, msg: string): never;
  /** Parameters a claim may compare along: the swept columns, and loss.name. */
  params: readonly string[];
  /** Metric columns of results.csv a claim may name. */
  metrics: readonly string[];
  /** Values a parameter takes in the file's sweep (absent when the file does not list them). */
  declared(param: string): Scalar[] | undefined;
}

type Obj = Record<string, unknown>;

export const KINDS = ['best', 'trend', 'better'] as const;
const KEYS: Record<(typeof KINDS)[number], string[]> = {
  best: ['param', 'value', 'metric', 'goal'],
  trend: ['param', 'metric', 'direction'],
  better: ['param', 'a', 'b', 'metric', 'goal'],
};

/** A value whose rule depends on the experiment (its swept parameters, its metrics): checked below. */
const anyValue = custom(() => null, {});

/**
 * `claims:` of an experiment file, described once: the loader and parseClaims validate its keys
 * with it and `bench schema` writes it. What each value may be (a swept parameter, a value of it
 * in the sweep, a metric of the results) is checked below, against the experiment.
 */
export const CLAIMS_SHAPE = list(
  'claims ({ text, best | trend | better })',
  object(
    {
      text: required(text('the claim as a sentence'), 'the claim as a sentence'),
      ...(Object.fromEntries(KINDS.map((k) => [k, object(Object.fromEntries(KEYS[k].map((f) => [f, anyValue])))])) as Record<
        (typeof KINDS)[number],
        Shape<Obj>
      >),
      where: map('key paths to values', anyValue),
      pin: custom((v) => ((VERDICTS as readonly unknown[]).includes(v) ? null : `${show(v)} is not allowed; expected one of ${VERDICTS.join(', ')}`), {
        enum: [...VERDICTS],
      }),
    },
    // Exactly one kind per claim: checked in parseOne, said here for editors.
    { also: { oneOf: KINDS.map((k) => ({ required: [k] })) } },
  ),
  { doc: 'findings to test on every run: each a sentence and exactly one of best, trend, better' },
);

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
}

/** Same value, with a number and its text form equal (results.csv holds text). */
export function sameScalar(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  if (typeof a === 'number' || typeof b === 'number') {
    const x = typeof a === 'number' ? a : typeof a === 'string' && a.trim() !== '' ? Number(a) : NaN;
    const y = typeof b === 'number' ? b : typeof b === 'string' && b.trim() !== '' ? Number(b) : NaN;
    return x === y;
  }
  return String(a) === String(b);
}

const EXPR = /^\s*(\|)?\s*([A-Za-z][A-Za-z0-9]*)\s*(?:-\s*([A-Za-z][A-Za-z0-9]*))?\s*(\|)?\s*$/;

export function parseMetric(raw: unknown, at: string, ctx: ClaimContext): MetricExpr {
  const allowed = `a metric (${ctx.metrics.join(', ')}), "a - b" or "|a - b|"`;
  if (typeof raw !== 'string') ctx.fail(at, `${show(raw)} is not allowed; expected ${allowed}`);
  const m = EXPR.exec(raw);
  if (!m || Boolean(m[1]) !== Boolean(m[4])) ctx.fail(at, `${show(raw)} is not allowed; expected ${allowed}`);
  for (const name of [m[2], m[3]]) {
    if (name !== undefined && !ctx.metrics.includes(name)) ctx.fail(at, `unknown metric ${show(name)}; allowed: ${ctx.metrics.join(', ')}`);
  }
  return { a: m[2]!, ...(m[3] !== undefined ? { b: m[3] } : {}), abs: Boolean(m[1]), text: raw.trim() };
}

function parseParam(raw: unknown, at: string, ctx: ClaimContext): string {
  if (typeof raw !== 'string' || !ctx.params.includes(raw)) {
    ctx.fail(at, `${show(raw)} is not allowed; expected a swept parameter: ${ctx.params.join(', ') || '(the experiment sweeps nothing)'}`);
  }
  return raw;
}

function parseValue(raw: unknown, at: string, param: string, ctx: ClaimContext): Scalar {
  if (!isScalar(raw)) ctx.fail(at, `${show(raw)} is not allowed; expected a value of ${param}`);
  const values = ctx.declared(param);
  if (values && !values.some((v) => sameScalar(v, raw)))
    ctx.fail(at, `${show(raw)} is not a value of ${param} in the sweep; values: ${values.map((v) => show(v)).join(', ')}`);
  return raw;
}

function parseGoal(raw: unknown, at: string, ctx: ClaimContext): 'higher' | 'lower' {
  if (raw === undefined) return 'higher';
  if (raw !== 'higher' && raw !== 'lower') ctx.fail(at, `${show(raw)} is not allowed; expected higher or lower (which is better)`);
  return raw;
}

function listOf(raw: unknown): unknown[] {
  return Array.isArray(raw) ? raw : [raw];
}

function parseOne(raw: Obj & { text: string }, at: string, ctx: ClaimContext): ClaimSpec {
  if (raw.text.trim() === '') ctx.fail(`${at}.text`, `${show(raw.text)} is not allowed; expected the claim as a sentence`);
  const kinds = KINDS.filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1) ctx.fail(at, `${kinds.length ? `has ${kinds.join(' and ')}` : 'has no kind'}; expected exactly one of ${KINDS.join(', ')}`);
  const kind = kinds[0]!;
  const where: Record<string, Scalar> = {};
  if (raw.where !== undefined) {
    const keys = [...ctx.params, 'dataset'];
    for (const [k, v] of Object.entries(raw.where as Obj)) {
      if (!keys.includes(k)) ctx.fail(`${at}.where.${k}`, `unknown key; allowed: ${keys.join(', ')}`);
      where[k] =
        k === 'dataset'
          ? isScalar(v)
            ? v
            : ctx.fail(`${at}.where.${k}`, `${show(v)} is not allowed; expected a dataset name`)
          : parseValue(v, `${at}.where.${k}`, k, ctx);
    }
  }
  let pin: ClaimSpec['pin'];
  if (raw.pin !== undefined) pin = raw.pin as ClaimSpec['pin'];
  const base = { text: raw.text.trim(), where, ...(pin ? { pin } : {}) };
  const kat = `${at}.${kind}`;
  const body = raw[kind] as Obj;
  const need = (k: string): unknown => (body[k] === undefined ? ctx.fail(`${kat}.${k}`, 'missing') : body[k]);
  if (kind === 'best') {
    const param = parseParam(need('param'), `${kat}.param`, ctx);
    return {
      kind,
      ...base,
      param,
      value: parseValue(need('value'), `${kat}.value`, param, ctx),
      metric: parseMetric(need('metric'), `${kat}.metric`, ctx),
      goal: parseGoal(body.goal, `${kat}.goal`, ctx),
    };
  }
  if (kind === 'trend') {
    const param = parseParam(need('param'), `${kat}.param`, ctx);
    const values = ctx.declared(param);
    if (values?.some((v) => typeof v !== 'number'))
      ctx.fail(`${kat}.param`, `${param} takes non-numeric values (${values.map((v) => show(v)).join(', ')}); a trend needs a numeric parameter`);
    const direction = need('direction');
    if (direction !== 'increasing' && direction !== 'decreasing')
      ctx.fail(`${kat}.direction`, `${show(direction)} is not allowed; expected increasing or decreasing (the metric as the parameter grows)`);
    return { kind, ...base, param, metric: parseMetric(need('metric'), `${kat}.metric`, ctx), direction };
  }
  const goal = parseGoal(body.goal, `${kat}.goal`, ctx);
  if (body.param === undefined) {
    // Two metrics of the same cells: a and b name metrics, and `metric` has no place.
    if (body.metric !== undefined) ctx.fail(`${kat}.metric`, 'not allowed without param: a and b are the two metrics compared');
    const a = parseMetric(need('a'), `${kat}.a`, ctx);
    const bs = listOf(need('b'));
    if (bs.length !== 1) ctx.fail(`${kat}.b`, `${show(body.b)} is not allowed; expected one metric without param`);
    const b = parseMetric(bs[0], `${kat}.b`, ctx);
    return { kind, ...base, param: null, a: a.text, b: [b.text], metrics: [], goal };
  }
  const param = parseParam(body.param, `${kat}.param`, ctx);
  const a = parseValue(need('a'), `${kat}.a`, param, ctx);
  const b = listOf(need('b')).map((v, i) => parseValue(v, Array.isArray(body.b) ? `${kat}.b[${i}]` : `${kat}.b`, param, ctx));
  if (b.length === 0) ctx.fail(`${kat}.b`, 'empty; expected at least one value to compare with');
  if (b.some((v) => sameScalar(v, a))) ctx.fail(`${kat}.b`, `${show(a)} is compared with itself`);
  const metrics = listOf(need('metric')).map((m, i) => parseMetric(m, Array.isArray(body.metric) ? `${kat}.metric[${i}]` : `${kat}.metric`, ctx));
  if (metrics.length === 0) ctx.fail(`${kat}.metric`, 'empty; expected at least one metric');
  return { kind, ...base, param, a, b, metrics, goal };
}

/** Reads the `claims:` list of an experiment file. */
export function parseClaims(raw: unknown, ctx: ClaimContext): ClaimSpec[] {
  if (raw === undefined) return [];
  const claims = check(CLAIMS_SHAPE, raw, 'claims', (path, msg) => ctx.fail(path, msg)).map((c, i) => parseOne(c, `claims[${i}]`, ctx));
  const texts = new Set<string>();
  claims.forEach((c, i) => {
    if (texts.has(c.text)) ctx.fail(`claims[${i}].text`, `${show(c.text)} repeats another claim's text; each claim needs its own sentence`);
    texts.add(c.text);
  });
  return claims;
}
