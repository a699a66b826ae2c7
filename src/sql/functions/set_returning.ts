// Set-returning functions, used in FROM: generate_series, unnest, generate_subscripts, the jsonb
// and json expansion functions, regexp_matches, regexp_split_to_table and string_to_table. Rows
// are produced lazily (the executor pulls them in batches), and no call may produce more than
// MAX_SET_RETURNING_ROWS rows: generate_series(1, 1e18) fails with 54000 instead of running for days.
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, type Datum } from '../types/datum.js';
import * as dt from '../types/datetime.js';
import { Interval } from '../types/interval.js';
import { Jsonb, type JsonValue } from '../types/jsonb.js';
import { Numeric } from '../types/numeric.js';
import { elementTypeOf, Oid, Types, type SqlType } from '../types/oids.js';
import type { TypeSettings } from '../types/settings.js';
import { defineSetReturning, type SetReturningOverload } from './registry.js';
import { jsonMemberText, jsonValueText, scanJsonText } from './json_functions.js';
import { compilePosixRegex, flattenArray, matchGroups, parseRegexFlags, regexMatches, regexSplit, splitToFields } from './string.js';

/** Most rows one call of a set-returning function may produce. */
export const MAX_SET_RETURNING_ROWS = 10_000_000;

function tooManyRows(name: string): SqlError {
  return new SqlError(SqlState.programLimitExceeded, `${name}() would produce more than ${MAX_SET_RETURNING_ROWS} rows`);
}

/** Wraps a row source with the row bound. */
function* bounded(name: string, rows: Iterable<Datum[]>): Generator<Datum[], void, undefined> {
  let n = 0;
  for (const r of rows) {
    if (++n > MAX_SET_RETURNING_ROWS) throw tooManyRows(name);
    yield r;
  }
}

const oneColumn = (name: string, type: SqlType | ((args: readonly SqlType[]) => SqlType)): SetReturningOverload['columns'] => (args) => [
  { name, type: typeof type === 'function' ? type(args) : type },
];

function stepZero(): SqlError {
  return new SqlError(SqlState.invalidParameterValue, 'step size cannot equal zero');
}

// ---- generate_series ------------------------------------------------------------------------------

function* integerSeries(start: bigint, stop: bigint, step: bigint, toDatum: (v: bigint) => Datum): Generator<Datum[], void, undefined> {
  if (step === 0n) throw stepZero();
  for (let v = start; step > 0n ? v <= stop : v >= stop; v += step) yield [toDatum(v)];
}

function intSeries(toDatum: (v: bigint) => Datum): SetReturningOverload['rows'] {
  return (a) => bounded('generate_series', integerSeries(BigInt(a[0] as number | bigint), BigInt(a[1] as number | bigint), a[2] === undefined ? 1n : BigInt(a[2] as number | bigint), toDatum));
}

function checkNumericBound(v: Numeric, what: string): void {
  if (v.isNaN) throw new SqlError(SqlState.invalidParameterValue, `${what} cannot be NaN`);
  if (v.isInfinite) throw new SqlError(SqlState.invalidParameterValue, `${what} cannot be infinity`);
}

function* numericSeries(start: Numeric, stop: Numeric, step: Numeric): Generator<Datum[], void, undefined> {
  checkNumericBound(start, 'start value');
  checkNumericBound(stop, 'stop value');
  checkNumericBound(step, 'step size');
  if (step.isZero) throw stepZero();
  const ascending = step.signum() > 0;
  for (let v = start; ascending ? v.compare(stop) <= 0 : v.compare(stop) >= 0; v = v.add(step)) yield [v];
}

function* timestampSeries(start: bigint, stop: bigint, step: Interval, withZone: boolean, settings: TypeSettings): Generator<Datum[], void, undefined> {
  const sign = step.compare(Interval.ZERO);
  if (sign === 0) throw stepZero();
  if (start === TIMESTAMP_INFINITY || start === TIMESTAMP_NEG_INFINITY) throw new SqlError(SqlState.invalidParameterValue, 'start value cannot be infinity');
  if (stop === TIMESTAMP_INFINITY || stop === TIMESTAMP_NEG_INFINITY) throw new SqlError(SqlState.invalidParameterValue, 'stop value cannot be infinity');
  // Each value is the previous one plus the step, as in PostgreSQL (so 31 January + 1 month
  // gives 29 February, and then 29 March).
  for (let v = start; sign > 0 ? v <= stop : v >= stop; v = dt.addInterval(v, step, withZone, settings)) yield [v];
}

defineSetReturning(
  'generate_series',
  { params: [Oid.int4, Oid.int4], columns: oneColumn('generate_series', Types.int4), rows: intSeries((v) => Number(v)) },
  { params: [Oid.int4, Oid.int4, Oid.int4], columns: oneColumn('generate_series', Types.int4), rows: intSeries((v) => Number(v)) },
  { params: [Oid.int8, Oid.int8], columns: oneColumn('generate_series', Types.int8), rows: intSeries((v) => v) },
  { params: [Oid.int8, Oid.int8, Oid.int8], columns: oneColumn('generate_series', Types.int8), rows: intSeries((v) => v) },
  {
    params: [Oid.numeric, Oid.numeric],
    columns: oneColumn('generate_series', Types.numeric),
    rows: (a) => bounded('generate_series', numericSeries(a[0] as Numeric, a[1] as Numeric, Numeric.ONE)),
  },
  {
    params: [Oid.numeric, Oid.numeric, Oid.numeric],
    columns: oneColumn('generate_series', Types.numeric),
    rows: (a) => bounded('generate_series', numericSeries(a[0] as Numeric, a[1] as Numeric, a[2] as Numeric)),
  },
  {
    params: [Oid.timestamp, Oid.timestamp, Oid.interval],
    columns: oneColumn('generate_series', Types.timestamp),
    rows: (a, _t, ctx) => bounded('generate_series', timestampSeries(a[0] as bigint, a[1] as bigint, a[2] as Interval, false, ctx.settings)),
  },
  {
    params: [Oid.timestamptz, Oid.timestamptz, Oid.interval],
    columns: oneColumn('generate_series', Types.timestamptz),
    rows: (a, _t, ctx) => bounded('generate_series', timestampSeries(a[0] as bigint, a[1] as bigint, a[2] as Interval, true, ctx.settings)),
  },
);

// ---- arrays ------------------------------------------------------------------------------------------

const elementOf = (args: readonly SqlType[]): SqlType => ({ oid: elementTypeOf(args[0]!.oid) || Oid.text, typmod: args[0]!.typmod });

defineSetReturning('unnest', {
  params: ['anyarray'],
  columns: oneColumn('unnest', elementOf),
  rows: (a) => bounded('unnest', (function* () {
    for (const v of flattenArray(a[0] as SqlArray)) yield [v];
  })()),
});

/** The lower bound and length of dimension `dim` (1-based), or undefined past the array's dimensions. */
function dimensionOf(a: SqlArray, dim: number): { lower: number; length: number } | undefined {
  let level: Datum = a;
  for (let d = 1; level instanceof SqlArray && level.values.length > 0; d++) {
    if (d === dim) return { lower: level.lowerBound, length: level.values.length };
    level = level.values[0]!;
  }
  return undefined;
}

function* subscripts(a: SqlArray, dim: number, reverse: boolean): Generator<Datum[], void, undefined> {
  const d = dimensionOf(a, dim);
  if (d === undefined) return;
  for (let i = 0; i < d.length; i++) yield [reverse ? d.lower + d.length - 1 - i : d.lower + i];
}

defineSetReturning(
  'generate_subscripts',
  { params: ['anyarray', Oid.int4], columns: oneColumn('generate_subscripts', Types.int4), rows: (a) => subscripts(a[0] as SqlArray, a[1] as number, false) },
  {
    params: ['anyarray', Oid.int4, Oid.bool],
    columns: oneColumn('generate_subscripts', Types.int4),
    rows: (a) => subscripts(a[0] as SqlArray, a[1] as number, a[2] as boolean),
  },
);

// ---- jsonb and json ------------------------------------------------------------------------------------

function kindName(v: JsonValue): 'object' | 'array' | 'scalar' {
  return v instanceof Map ? 'object' : Array.isArray(v) ? 'array' : 'scalar';
}

function objectEntries(v: JsonValue, fn: string): Array<[string, JsonValue]> {
  if (!(v instanceof Map)) throw new SqlError(SqlState.invalidParameterValue, `cannot call ${fn} on a non-object`);
  return [...v.entries()];
}

function arrayItems(v: JsonValue): JsonValue[] {
  if (Array.isArray(v)) return v;
  throw new SqlError(SqlState.invalidParameterValue, v instanceof Map ? 'cannot extract elements from an object' : 'cannot extract elements from a scalar');
}

function objectKeys(v: JsonValue, fn: string): string[] {
  const kind = kindName(v);
  if (kind !== 'object') throw new SqlError(SqlState.invalidParameterValue, `cannot call ${fn} on ${kind === 'array' ? 'an array' : 'a scalar'}`);
  return [...(v as Map<string, JsonValue>).keys()];
}

const jsonbOf = (d: Datum): JsonValue => (d as Jsonb).value;
const keyValueColumns = (valueType: SqlType): SetReturningOverload['columns'] => () => [
  { name: 'key', type: Types.text },
  { name: 'value', type: valueType },
];

defineSetReturning('jsonb_each', {
  params: [Oid.jsonb],
  columns: keyValueColumns(Types.jsonb),
  rows: (a) => objectEntries(jsonbOf(a[0]!), 'jsonb_each').map(([k, v]) => [k, new Jsonb(v)]),
});
defineSetReturning('jsonb_each_text', {
  params: [Oid.jsonb],
  columns: keyValueColumns(Types.text),
  rows: (a) => objectEntries(jsonbOf(a[0]!), 'jsonb_each_text').map(([k, v]) => [k, jsonValueText(v)]),
});
defineSetReturning('jsonb_array_elements', {
  params: [Oid.jsonb],
  columns: oneColumn('value', Types.jsonb),
  rows: (a) => arrayItems(jsonbOf(a[0]!)).map((v) => [new Jsonb(v)]),
});
defineSetReturning('jsonb_array_elements_text', {
  params: [Oid.jsonb],
  columns: oneColumn('value', Types.text),
  rows: (a) => arrayItems(jsonbOf(a[0]!)).map((v) => [jsonValueText(v)]),
});
defineSetReturning('jsonb_object_keys', {
  params: [Oid.jsonb],
  columns: oneColumn('jsonb_object_keys', Types.text),
  rows: (a) => objectKeys(jsonbOf(a[0]!), 'jsonb_object_keys').map((k) => [k]),
});

// json keeps the text as written: members (and duplicate keys) come back in their written order.
function jsonObjectMembers(text: string): ReadonlyArray<readonly [string, string]> {
  const shape = scanJsonText(text);
  if (shape.kind === 'object') return shape.entries;
  throw new SqlError(SqlState.invalidParameterValue, shape.kind === 'array' ? 'cannot deconstruct an array as an object' : 'cannot deconstruct a scalar');
}

function jsonArrayMembers(text: string, fn: string): readonly string[] {
  const shape = scanJsonText(text);
  if (shape.kind === 'array') return shape.items;
  throw new SqlError(SqlState.invalidParameterValue, `cannot call ${fn} on ${shape.kind === 'object' ? 'a non-array' : 'a scalar'}`);
}

defineSetReturning('json_each', {
  params: [Oid.json],
  columns: keyValueColumns(Types.json),
  rows: (a) => jsonObjectMembers(a[0] as string).map(([k, v]) => [k, v]),
});
defineSetReturning('json_each_text', {
  params: [Oid.json],
  columns: keyValueColumns(Types.text),
  rows: (a) => jsonObjectMembers(a[0] as string).map(([k, v]) => [k, jsonMemberText(v)]),
});
defineSetReturning('json_array_elements', {
  params: [Oid.json],
  columns: oneColumn('value', Types.json),
  rows: (a) => jsonArrayMembers(a[0] as string, 'json_array_elements').map((v) => [v]),
});
defineSetReturning('json_array_elements_text', {
  params: [Oid.json],
  columns: oneColumn('value', Types.text),
  rows: (a) => jsonArrayMembers(a[0] as string, 'json_array_elements_text').map((v) => [jsonMemberText(v)]),
});
defineSetReturning('json_object_keys', {
  params: [Oid.json],
  columns: oneColumn('json_object_keys', Types.text),
  rows: (a) => {
    const shape = scanJsonText(a[0] as string);
    if (shape.kind !== 'object') {
      throw new SqlError(SqlState.invalidParameterValue, `cannot call json_object_keys on ${shape.kind === 'array' ? 'an array' : 'a scalar'}`);
    }
    return shape.entries.map(([k]) => [k]);
  },
});

// ---- strings ---------------------------------------------------------------------------------------

function* regexpMatchRows(s: string, pattern: string, flagsText: string): Generator<Datum[], void, undefined> {
  const flags = parseRegexFlags(flagsText);
  const re = compilePosixRegex(pattern, flags);
  for (const m of regexMatches(re, s, 0, flags.global)) yield [matchGroups(m)];
}

defineSetReturning(
  'regexp_matches',
  { params: [Oid.text, Oid.text], columns: oneColumn('regexp_matches', Types.textArray), rows: (a) => bounded('regexp_matches', regexpMatchRows(a[0] as string, a[1] as string, '')) },
  {
    params: [Oid.text, Oid.text, Oid.text],
    columns: oneColumn('regexp_matches', Types.textArray),
    rows: (a) => bounded('regexp_matches', regexpMatchRows(a[0] as string, a[1] as string, a[2] as string)),
  },
);

defineSetReturning(
  'regexp_split_to_table',
  {
    params: [Oid.text, Oid.text],
    columns: oneColumn('regexp_split_to_table', Types.text),
    rows: (a) => regexSplit(a[0] as string, a[1] as string, '', 'regexp_split_to_table').map((p) => [p]),
  },
  {
    params: [Oid.text, Oid.text, Oid.text],
    columns: oneColumn('regexp_split_to_table', Types.text),
    rows: (a) => regexSplit(a[0] as string, a[1] as string, a[2] as string, 'regexp_split_to_table').map((p) => [p]),
  },
);

defineSetReturning(
  'string_to_table',
  {
    params: [Oid.text, Oid.text],
    strict: false,
    columns: oneColumn('string_to_table', Types.text),
    rows: (a) => (a[0] === null ? [] : splitToFields(a[0] as string, a[1] as string | null, null).map((f) => [f])),
  },
  {
    params: [Oid.text, Oid.text, Oid.text],
    strict: false,
    columns: oneColumn('string_to_table', Types.text),
    rows: (a) => (a[0] === null ? [] : splitToFields(a[0] as string, a[1] as string | null, a[2] as string | null).map((f) => [f])),
  },
);
