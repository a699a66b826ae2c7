// JSON functions (PostgreSQL's "JSON Creation", "JSON Processing" tables): converting SQL values to
// json text and jsonb values the way to_json/to_jsonb do (numbers stay numbers unless infinite or
// NaN, dates and timestamps become ISO 8601 strings, arrays and rows nest), building objects and
// arrays, and reading and editing jsonb trees. json results are text laid out exactly as
// PostgreSQL lays out each function's output ("{"a" : 1}" from json_build_object, "[1,2]" from
// to_json of an array); jsonb values are Jsonb trees whose objects keep jsonb's key order.
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, SqlRecord, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, type Datum } from '../types/datum.js';
import { formatFloat4, formatFloat8 } from '../types/float.js';
import { Jsonb, type JsonValue } from '../types/jsonb.js';
import { Numeric } from '../types/numeric.js';
import { elementTypeOf, NO_TYPMOD, Oid, Types, type SqlType } from '../types/oids.js';
import type { TypeSettings } from '../types/settings.js';
import { formatText } from '../types/text_io.js';
import type { ScalarImpl } from '../plan/bound.js';
import { defineScalar, type ScalarOverload } from './registry.js';
import { typedScalar } from './string.js';

export type { JsonValue };

/** Deepest nesting jsonb_pretty, jsonb_set and the tree walks here accept, against stack exhaustion. */
export const MAX_JSON_DEPTH = 6400;

// ---- json text --------------------------------------------------------------------------------------------

/** A string as a JSON string literal, escaped as PostgreSQL's escape_json does. */
export function jsonQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += '\\\\';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      default:
        out += c < 0x20 ? `\\u${c.toString(16).padStart(4, '0')}` : s[i];
    }
  }
  return `${out}"`;
}

/** Whether a number's text output is also a JSON number (not NaN or Infinity). */
function isJsonNumber(text: string): boolean {
  return /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text);
}

const ISO_SETTINGS = (s: TypeSettings): TypeSettings => ({ ...s, dateStyle: 'ISO, MDY' });

/** Dates and timestamps in JSON: ISO 8601 with a "T" and a full ±hh:mm offset, or "infinity". */
function isoDateTime(value: Datum, type: SqlType, s: TypeSettings): string {
  if (type.oid === Oid.date && !Number.isFinite(value as number)) return (value as number) > 0 ? 'infinity' : '-infinity';
  if ((type.oid === Oid.timestamp || type.oid === Oid.timestamptz) && (value === TIMESTAMP_INFINITY || value === TIMESTAMP_NEG_INFINITY)) {
    return value === TIMESTAMP_INFINITY ? 'infinity' : '-infinity';
  }
  let text = formatText(value, type, ISO_SETTINGS(s));
  let era = '';
  if (text.endsWith(' BC')) {
    text = text.slice(0, -3);
    era = ' BC';
  }
  if (type.oid === Oid.date) return text + era;
  text = text.replace(' ', 'T');
  if (type.oid === Oid.timestamptz) {
    // ISO output gives the offset as +hh, +hh:mm or +hh:mm:ss; JSON wants at least +hh:mm.
    text = text.replace(/([+-]\d\d)$/, '$1:00');
  }
  return text + era;
}

type JsonCategory = 'null' | 'bool' | 'number' | 'datetime' | 'json' | 'jsonb' | 'array' | 'record' | 'text';

function categoryOf(type: SqlType): JsonCategory {
  switch (type.oid) {
    case Oid.bool:
      return 'bool';
    case Oid.int2:
    case Oid.int4:
    case Oid.int8:
    case Oid.float4:
    case Oid.float8:
    case Oid.numeric:
    case Oid.oid:
      return 'number';
    case Oid.date:
    case Oid.timestamp:
    case Oid.timestamptz:
      return 'datetime';
    case Oid.json:
      return 'json';
    case Oid.jsonb:
      return 'jsonb';
    case Oid.record:
      return 'record';
    case Oid.unknown:
      return 'text';
    default:
      return elementTypeOf(type.oid) !== 0 ? 'array' : 'text';
  }
}

function notScalarKey(): SqlError {
  return new SqlError(SqlState.invalidParameterValue, 'key value must be scalar, not array, composite, or json');
}

/**
 * to_json: the json text of a non-null value. As an object key (`asKey`) the value must be scalar
 * and is always a JSON string. `pretty` puts a newline after each top-level comma of arrays and rows.
 */
export function toJsonText(value: Datum, type: SqlType, s: TypeSettings, asKey = false, pretty = false, depth = 0): string {
  if (depth > MAX_JSON_DEPTH) throw tooDeep();
  const category = categoryOf(type);
  if (asKey && (category === 'array' || category === 'record' || category === 'json' || category === 'jsonb')) throw notScalarKey();
  switch (category) {
    case 'bool':
      return asKey ? jsonQuote(value === true ? 'true' : 'false') : value === true ? 'true' : 'false';
    case 'number': {
      const text = formatText(value, type, s);
      return !asKey && isJsonNumber(text) ? text : jsonQuote(text);
    }
    case 'datetime':
      return jsonQuote(isoDateTime(value, type, s));
    case 'json':
      return value as string;
    case 'jsonb':
      return jsonbText((value as Jsonb).value);
    case 'array':
      return arrayToJsonText(value as SqlArray, { oid: elementTypeOf(type.oid), typmod: type.typmod }, s, pretty, depth);
    case 'record': {
      const r = value as SqlRecord;
      const sep = pretty ? ',\n ' : ',';
      const fields = r.values.map((v, i) => `"f${i + 1}":${v === null ? 'null' : toJsonText(v, { oid: r.types[i] ?? Oid.text, typmod: NO_TYPMOD }, s, false, false, depth + 1)}`);
      return `{${fields.join(sep)}}`;
    }
    default:
      return jsonQuote(type.oid === Oid.unknown ? (value as string) : formatText(value, type, s));
  }
}

function arrayToJsonText(a: SqlArray, element: SqlType, s: TypeSettings, pretty: boolean, depth: number): string {
  const sep = pretty ? ',\n ' : ',';
  const walk = (level: SqlArray, d: number): string => {
    const parts = level.values.map((v) => {
      if (v instanceof SqlArray && element.oid !== Oid.int2vector && element.oid !== Oid.oidvector) return walk(v, d + 1);
      return v === null ? 'null' : toJsonText(v, element, s, false, false, d + 1);
    });
    return `[${parts.join(d === depth ? sep : ',')}]`;
  };
  return walk(a, depth);
}

/** json_agg's layout: elements separated by ", ". */
export function jsonAggText(parts: readonly string[]): string {
  return `[${parts.join(', ')}]`;
}

/** json_object_agg's layout: { "k" : v, ... }. */
export function jsonObjectAggText(fields: ReadonlyArray<readonly [string, string]>): string {
  return `{ ${fields.map(([k, v]) => `${k} : ${v}`).join(', ')} }`;
}

function tooDeep(): SqlError {
  return new SqlError(SqlState.statementTooComplex, `json value nesting exceeds ${MAX_JSON_DEPTH} levels`);
}

// ---- jsonb values ------------------------------------------------------------------------------------------

/** jsonb's key order: shorter keys first, then by UTF-8 bytes (code point order). */
function compareJsonbKeys(a: string, b: string): number {
  const la = Buffer.byteLength(a);
  const lb = Buffer.byteLength(b);
  if (la !== lb) return la - lb;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A jsonb object from fields in input order: a later duplicate key wins, keys in jsonb order. */
export function makeJsonbObject(fields: Iterable<readonly [string, JsonValue]>): Map<string, JsonValue> {
  const byKey = new Map<string, JsonValue>();
  for (const [k, v] of fields) byKey.set(k, v);
  return new Map([...byKey.entries()].sort((x, y) => compareJsonbKeys(x[0], y[0])));
}

function isObject(v: JsonValue): v is Map<string, JsonValue> {
  return v instanceof Map;
}

/** The number a float becomes in jsonb: its shortest text read as numeric. */
function floatToJsonb(v: number, width: 4 | 8, s: TypeSettings): JsonValue {
  const text = width === 4 ? formatFloat4(v, s.extraFloatDigits) : formatFloat8(v, s.extraFloatDigits);
  return isJsonNumber(text) ? Numeric.parse(text) : text;
}

/** to_jsonb: the jsonb value of a non-null SQL value. */
export function jsonbValueOf(value: Datum, type: SqlType, s: TypeSettings, depth = 0): JsonValue {
  if (depth > MAX_JSON_DEPTH) throw tooDeep();
  switch (categoryOf(type)) {
    case 'bool':
      return value as boolean;
    case 'number':
      switch (type.oid) {
        case Oid.float4:
          return floatToJsonb(value as number, 4, s);
        case Oid.float8:
          return floatToJsonb(value as number, 8, s);
        case Oid.numeric:
          return (value as Numeric).isFinite ? (value as Numeric) : (value as Numeric).toString();
        default:
          return Numeric.fromBigInt(BigInt(value as number | bigint));
      }
    case 'datetime':
      return isoDateTime(value, type, s);
    case 'json':
      return Jsonb.parse(value as string).value;
    case 'jsonb':
      return (value as Jsonb).value;
    case 'array': {
      const element: SqlType = { oid: elementTypeOf(type.oid), typmod: type.typmod };
      const walk = (level: SqlArray, d: number): JsonValue[] =>
        level.values.map((v) => (v instanceof SqlArray ? walk(v, d + 1) : v === null ? null : jsonbValueOf(v, element, s, d + 1)));
      return walk(value as SqlArray, depth);
    }
    case 'record': {
      const r = value as SqlRecord;
      return makeJsonbObject(r.values.map((v, i) => [`f${i + 1}`, v === null ? null : jsonbValueOf(v, { oid: r.types[i] ?? Oid.text, typmod: NO_TYPMOD }, s, depth + 1)] as const));
    }
    default:
      return type.oid === Oid.unknown ? (value as string) : formatText(value, type, s);
  }
}

/** jsonb_out's layout: {"a": 1, "b": [1, 2]}. */
export function jsonbText(v: JsonValue, depth = 0): string {
  if (depth > MAX_JSON_DEPTH) throw tooDeep();
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return jsonQuote(v);
  if (v instanceof Numeric) return v.toString();
  if (Array.isArray(v)) return `[${v.map((x) => jsonbText(x, depth + 1)).join(', ')}]`;
  return `{${[...v.entries()].map(([k, x]) => `${jsonQuote(k)}: ${jsonbText(x, depth + 1)}`).join(', ')}}`;
}

/** jsonb_pretty's layout: four spaces per level, empty containers opened and closed on two lines. */
function jsonbPretty(v: JsonValue, indent: number): string {
  if (indent / 4 > MAX_JSON_DEPTH) throw tooDeep();
  const pad = ' '.repeat(indent);
  const inner = ' '.repeat(indent + 4);
  if (Array.isArray(v)) {
    if (v.length === 0) return `[\n${pad}]`;
    return `[\n${v.map((x) => inner + jsonbPretty(x, indent + 4)).join(',\n')}\n${pad}]`;
  }
  if (isObject(v)) {
    if (v.size === 0) return `{\n${pad}}`;
    return `{\n${[...v.entries()].map(([k, x]) => `${inner}${jsonQuote(k)}: ${jsonbPretty(x, indent + 4)}`).join(',\n')}\n${pad}}`;
  }
  return jsonbText(v);
}

function jsonTypeName(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof Numeric) return 'number';
  return Array.isArray(v) ? 'array' : 'object';
}

// ---- conversion functions ---------------------------------------------------------------------------------

defineScalar(
  'to_json',
  typedScalar({ params: ['anyelement'], returns: Types.json, specialize: (t) => (a, ctx) => toJsonText(a[0]!, t[0]!, ctx.settings) }),
);
defineScalar(
  'to_jsonb',
  typedScalar({ params: ['anyelement'], returns: Types.jsonb, specialize: (t) => (a, ctx) => new Jsonb(jsonbValueOf(a[0]!, t[0]!, ctx.settings)) }),
);

const arrayToJson = (pretty: (a: Datum[]) => boolean): ScalarImpl => (a, ctx) => {
  const arr = a[0] as SqlArray;
  return arrayToJsonText(arr, { oid: arr.elementType, typmod: NO_TYPMOD }, ctx.settings, pretty(a), 0);
};
defineScalar(
  'array_to_json',
  { params: ['anyarray'], returns: Types.json, impl: arrayToJson(() => false) },
  { params: ['anyarray', Oid.bool], returns: Types.json, impl: arrayToJson((a) => a[1] === true) },
);
defineScalar(
  'row_to_json',
  { params: [Oid.record], returns: Types.json, impl: (a, ctx) => toJsonText(a[0]!, Types.record, ctx.settings) },
  { params: [Oid.record, Oid.bool], returns: Types.json, impl: (a, ctx) => toJsonText(a[0]!, Types.record, ctx.settings, false, a[1] === true) },
);

// ---- building -------------------------------------------------------------------------------------------

function checkPairs(n: number, fn: string): void {
  if (n % 2 !== 0) {
    throw new SqlError(SqlState.invalidParameterValue, 'argument list must have even number of elements', {
      hint: `The arguments of ${fn}() must consist of alternating keys and values.`,
    });
  }
}

function keyNotNull(position: number): SqlError {
  return new SqlError(SqlState.invalidParameterValue, `argument ${position} cannot be null`, { hint: 'Object keys should be text.' });
}

const buildObjectJson = (types: readonly SqlType[]): ScalarImpl => (a, ctx) => {
  checkPairs(a.length, 'json_build_object');
  const fields: string[] = [];
  for (let i = 0; i < a.length; i += 2) {
    if (a[i] === null) throw keyNotNull(i + 1);
    const key = toJsonText(a[i]!, types[i]!, ctx.settings, true);
    const value = a[i + 1] === null ? 'null' : toJsonText(a[i + 1]!, types[i + 1]!, ctx.settings);
    fields.push(`${key} : ${value}`);
  }
  return `{${fields.join(', ')}}`;
};

const buildObjectJsonb = (types: readonly SqlType[]): ScalarImpl => (a, ctx) => {
  checkPairs(a.length, 'jsonb_build_object');
  const fields: Array<readonly [string, JsonValue]> = [];
  for (let i = 0; i < a.length; i += 2) {
    if (a[i] === null) throw keyNotNull(i + 1);
    // As json_build_object's: a key must be scalar (this raises the error otherwise).
    toJsonText(a[i]!, types[i]!, ctx.settings, true);
    const key = jsonbValueOf(a[i]!, types[i]!, ctx.settings);
    const keyText = key instanceof Numeric ? key.toString() : typeof key === 'boolean' ? String(key) : (key as string);
    fields.push([keyText, a[i + 1] === null ? null : jsonbValueOf(a[i + 1]!, types[i + 1]!, ctx.settings)]);
  }
  return new Jsonb(makeJsonbObject(fields));
};

defineScalar(
  'json_build_object',
  { params: [], returns: Types.json, strict: false, impl: () => '{}' },
  typedScalar({ params: ['any', 'any'], variadic: true, returns: Types.json, strict: false, specialize: buildObjectJson }),
);
defineScalar(
  'jsonb_build_object',
  { params: [], returns: Types.jsonb, strict: false, impl: () => new Jsonb(new Map()) },
  typedScalar({ params: ['any', 'any'], variadic: true, returns: Types.jsonb, strict: false, specialize: buildObjectJsonb }),
);
defineScalar(
  'json_build_array',
  { params: [], returns: Types.json, strict: false, impl: () => '[]' },
  typedScalar({
    params: ['any', 'any'],
    variadic: true,
    returns: Types.json,
    strict: false,
    specialize: (t) => (a, ctx) => `[${a.map((v, i) => (v === null ? 'null' : toJsonText(v, t[i]!, ctx.settings))).join(', ')}]`,
  }),
);
defineScalar(
  'jsonb_build_array',
  { params: [], returns: Types.jsonb, strict: false, impl: () => new Jsonb([]) },
  typedScalar({
    params: ['any', 'any'],
    variadic: true,
    returns: Types.jsonb,
    strict: false,
    specialize: (t) => (a, ctx) => new Jsonb(a.map((v, i) => (v === null ? null : jsonbValueOf(v, t[i]!, ctx.settings)))),
  }),
);

/** json_object / jsonb_object: keys and values from one text array of pairs, or two arrays. */
function objectPairs(keys: SqlArray, values: SqlArray | undefined): Array<readonly [string, string | null]> {
  const flat = (a: SqlArray): Datum[] => a.values.flatMap((v) => (v instanceof SqlArray ? v.values : [v]));
  const k = flat(keys);
  const pairs: Array<readonly [string, string | null]> = [];
  if (values === undefined) {
    if (keys.values.some((v) => v instanceof SqlArray)) {
      if (keys.values.some((v) => !(v instanceof SqlArray) || v.values.length !== 2)) {
        throw new SqlError(SqlState.arraySubscriptError, 'array must have two columns');
      }
    } else if (k.length % 2 !== 0) throw new SqlError(SqlState.arraySubscriptError, 'array must have even number of elements');
    for (let i = 0; i < k.length; i += 2) {
      if (k[i] === null) throw new SqlError(SqlState.nullValueNotAllowed, 'null value not allowed for object key');
      pairs.push([k[i] as string, k[i + 1] as string | null]);
    }
    return pairs;
  }
  const v = flat(values);
  if (k.length !== v.length) throw new SqlError(SqlState.arraySubscriptError, 'mismatched array dimensions');
  for (let i = 0; i < k.length; i++) {
    if (k[i] === null) throw new SqlError(SqlState.nullValueNotAllowed, 'null value not allowed for object key');
    pairs.push([k[i] as string, v[i] as string | null]);
  }
  return pairs;
}

defineScalar(
  'json_object',
  {
    params: [Oid._text],
    returns: Types.json,
    impl: (a) => `{${objectPairs(a[0] as SqlArray, undefined).map(([k, v]) => `${jsonQuote(k)} : ${v === null ? 'null' : jsonQuote(v)}`).join(', ')}}`,
  },
  {
    params: [Oid._text, Oid._text],
    returns: Types.json,
    impl: (a) => `{${objectPairs(a[0] as SqlArray, a[1] as SqlArray).map(([k, v]) => `${jsonQuote(k)} : ${v === null ? 'null' : jsonQuote(v)}`).join(', ')}}`,
  },
);
defineScalar(
  'jsonb_object',
  { params: [Oid._text], returns: Types.jsonb, impl: (a) => new Jsonb(makeJsonbObject(objectPairs(a[0] as SqlArray, undefined))) },
  { params: [Oid._text, Oid._text], returns: Types.jsonb, impl: (a) => new Jsonb(makeJsonbObject(objectPairs(a[0] as SqlArray, a[1] as SqlArray))) },
);

// ---- json text as written --------------------------------------------------------------------------------
//
// json values are text kept as the client wrote it: key order, duplicate keys and spacing survive,
// so json_each, json_object_keys and friends read the text itself rather than a jsonb tree. The
// text was validated on input; this scanner only finds where each member starts and ends.

/** A json value's top level: its members as slices of the original text. */
export type JsonTextShape =
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [string, string]> }
  | { readonly kind: 'array'; readonly items: readonly string[] }
  | { readonly kind: 'scalar'; readonly text: string };

const isJsonSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** The end of the value starting at `i` (after leading space), skipping strings and nesting. */
function jsonValueEnd(text: string, i: number): number {
  let depth = 0;
  let j = i;
  for (; j < text.length; j++) {
    const c = text[j]!;
    if (c === '"') {
      j++;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 0) return j + 1;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return j + 1;
      if (depth < 0) return j;
    } else if (depth === 0 && (c === ',' || c === ':' || isJsonSpace(c))) return j;
  }
  return j;
}

function skipJsonSpace(text: string, i: number): number {
  let j = i;
  while (isJsonSpace(text[j])) j++;
  return j;
}

export function scanJsonText(text: string): JsonTextShape {
  let i = skipJsonSpace(text, 0);
  const open = text[i];
  if (open !== '{' && open !== '[') return { kind: 'scalar', text: text.trim() };
  i = skipJsonSpace(text, i + 1);
  if (open === '[') {
    const items: string[] = [];
    while (i < text.length && text[i] !== ']') {
      const end = jsonValueEnd(text, i);
      items.push(text.slice(i, end));
      i = skipJsonSpace(text, end);
      if (text[i] === ',') i = skipJsonSpace(text, i + 1);
    }
    return { kind: 'array', items };
  }
  const entries: Array<readonly [string, string]> = [];
  while (i < text.length && text[i] !== '}') {
    const keyEnd = jsonValueEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipJsonSpace(text, keyEnd);
    i = skipJsonSpace(text, i + 1);
    const end = jsonValueEnd(text, i);
    entries.push([key, text.slice(i, end)]);
    i = skipJsonSpace(text, end);
    if (text[i] === ',') i = skipJsonSpace(text, i + 1);
  }
  return { kind: 'object', entries };
}

/** The text ->> gives for a json member: strings unescaped, null as SQL NULL, the rest as written. */
export function jsonMemberText(member: string): string | null {
  if (member === 'null') return null;
  if (member.startsWith('"')) return JSON.parse(member) as string;
  return member;
}

function jsonTextTypeName(text: string): string {
  const t = text.trim();
  const c = t[0];
  if (c === '{') return 'object';
  if (c === '[') return 'array';
  if (c === '"') return 'string';
  if (t === 'null') return 'null';
  if (t === 'true' || t === 'false') return 'boolean';
  return 'number';
}

/** The member at a path of keys and indexes in json text (the last of duplicate keys), or undefined. */
function jsonTextPath(text: string, path: readonly Datum[]): string | undefined {
  let cur: string | undefined = text;
  for (const step of path) {
    if (cur === undefined || step === null) return undefined;
    const shape = scanJsonText(cur);
    if (shape.kind === 'object') {
      const hits = shape.entries.filter(([k]) => k === step);
      cur = hits.length === 0 ? undefined : hits[hits.length - 1]![1];
    } else if (shape.kind === 'array') {
      if (!/^\s*-?\d+\s*$/.test(step as string)) return undefined;
      const i = Number(step);
      cur = shape.items[i < 0 ? shape.items.length + i : i];
    } else return undefined;
  }
  return cur;
}

// ---- inspecting -----------------------------------------------------------------------------------------

const jsonbArg = (fn: (v: JsonValue) => Datum, returns: SqlType): ScalarOverload => ({ params: [Oid.jsonb], returns, impl: (a) => fn((a[0] as Jsonb).value) });

function arrayLength(v: JsonValue): number {
  if (Array.isArray(v)) return v.length;
  if (isObject(v)) throw new SqlError(SqlState.invalidParameterValue, 'cannot get array length of a non-array');
  throw new SqlError(SqlState.invalidParameterValue, 'cannot get array length of a scalar');
}

defineScalar('jsonb_typeof', jsonbArg(jsonTypeName, Types.text));
defineScalar('json_typeof', { params: [Oid.json], returns: Types.text, impl: (a) => jsonTextTypeName(a[0] as string) });
defineScalar('jsonb_array_length', jsonbArg(arrayLength, Types.int4));
defineScalar('json_array_length', {
  params: [Oid.json],
  returns: Types.int4,
  impl: (a) => {
    const shape = scanJsonText(a[0] as string);
    if (shape.kind === 'array') return shape.items.length;
    throw new SqlError(SqlState.invalidParameterValue, shape.kind === 'object' ? 'cannot get array length of a non-array' : 'cannot get array length of a scalar');
  },
});
defineScalar('jsonb_pretty', jsonbArg((v) => jsonbPretty(v, 0), Types.text));

/** The value at a path of keys and array indexes (negative from the end), or undefined. */
export function jsonPath(v: JsonValue, path: readonly Datum[]): JsonValue | undefined {
  let cur: JsonValue | undefined = v;
  for (const step of path) {
    if (cur === undefined || step === null) return undefined;
    const key = step as string;
    if (isObject(cur)) cur = cur.get(key);
    else if (Array.isArray(cur)) {
      if (!/^\s*-?\d+\s*$/.test(key)) return undefined;
      const i = Number(key);
      cur = cur[i < 0 ? cur.length + i : i];
    } else return undefined;
  }
  return cur;
}

/** The text ->> gives: strings unquoted, JSON null as SQL NULL, containers as jsonb text. */
export function jsonValueText(v: JsonValue): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  return jsonbText(v);
}

defineScalar('jsonb_extract_path', {
  params: [Oid.jsonb, Oid.text],
  variadic: true,
  returns: Types.jsonb,
  impl: (a) => {
    const found = jsonPath((a[0] as Jsonb).value, a.slice(1));
    return found === undefined ? null : new Jsonb(found);
  },
});
defineScalar('jsonb_extract_path_text', {
  params: [Oid.jsonb, Oid.text],
  variadic: true,
  returns: Types.text,
  impl: (a) => {
    const found = jsonPath((a[0] as Jsonb).value, a.slice(1));
    return found === undefined ? null : jsonValueText(found);
  },
});
defineScalar('json_extract_path_text', {
  params: [Oid.json, Oid.text],
  variadic: true,
  returns: Types.text,
  impl: (a) => {
    const found = jsonTextPath(a[0] as string, a.slice(1));
    return found === undefined ? null : jsonMemberText(found);
  },
});
defineScalar('json_extract_path', {
  params: [Oid.json, Oid.text],
  variadic: true,
  returns: Types.json,
  impl: (a) => jsonTextPath(a[0] as string, a.slice(1)) ?? null,
});

// ---- editing ------------------------------------------------------------------------------------------

function stripNulls(v: JsonValue, depth: number): JsonValue {
  if (depth > MAX_JSON_DEPTH) throw tooDeep();
  if (Array.isArray(v)) return v.map((x) => stripNulls(x, depth + 1));
  if (isObject(v)) {
    const out = new Map<string, JsonValue>();
    for (const [k, x] of v) if (x !== null) out.set(k, stripNulls(x, depth + 1));
    return out;
  }
  return v;
}

defineScalar('jsonb_strip_nulls', jsonbArg((v) => new Jsonb(stripNulls(v, 0)), Types.jsonb));

type PathEdit = 'set' | 'insertBefore' | 'insertAfter';

function pathElements(path: SqlArray): string[] {
  return path.values.map((p, i) => {
    if (p === null) throw new SqlError(SqlState.nullValueNotAllowed, `path element at position ${i + 1} is null`);
    return p as string;
  });
}

function arrayIndex(step: string, position: number): number {
  if (!/^\s*[+-]?\d+\s*$/.test(step)) {
    throw new SqlError(SqlState.invalidTextRepresentation, `path element at position ${position} is not an integer: "${step}"`);
  }
  const i = Number(step);
  if (!Number.isSafeInteger(i) || i < -2147483648 || i > 2147483647) {
    throw new SqlError(SqlState.invalidTextRepresentation, `path element at position ${position} is not an integer: "${step}"`);
  }
  return i;
}

/** jsonb_set and jsonb_insert: the tree with `replacement` put at `path` (PostgreSQL's setPath). */
function editPath(v: JsonValue, path: readonly string[], level: number, replacement: JsonValue, create: boolean, edit: PathEdit): JsonValue {
  if (level > MAX_JSON_DEPTH) throw tooDeep();
  const last = level === path.length - 1;
  const step = path[level]!;
  if (isObject(v)) {
    const out = new Map(v);
    const existing = v.get(step);
    if (last) {
      if (existing !== undefined) {
        if (edit !== 'set') {
          throw new SqlError(SqlState.invalidParameterValue, 'cannot replace existing key', { hint: 'Try using the function jsonb_set to replace key value.' });
        }
        out.set(step, replacement);
        return out;
      }
      if (!create) return v;
      out.set(step, replacement);
      return makeJsonbObject(out);
    }
    if (existing === undefined || !(isObject(existing) || Array.isArray(existing))) return v;
    out.set(step, editPath(existing, path, level + 1, replacement, create, edit));
    return out;
  }
  if (Array.isArray(v)) {
    let i = arrayIndex(step, level + 1);
    if (i < 0) i += v.length;
    if (last) {
      const out = v.slice();
      if (i < 0) {
        if (create) out.unshift(replacement);
        return out;
      }
      if (i >= v.length) {
        if (create) out.push(replacement);
        return out;
      }
      if (edit === 'set') out[i] = replacement;
      else out.splice(edit === 'insertAfter' ? i + 1 : i, 0, replacement);
      return out;
    }
    if (i < 0 || i >= v.length) return v;
    const child = v[i]!;
    if (!(isObject(child) || Array.isArray(child))) return v;
    const out = v.slice();
    out[i] = editPath(child, path, level + 1, replacement, create, edit);
    return out;
  }
  return v;
}

function editJsonb(target: Jsonb, path: SqlArray, replacement: Jsonb, create: boolean, edit: PathEdit): Jsonb {
  const steps = pathElements(path);
  const v = target.value;
  if (!isObject(v) && !Array.isArray(v)) throw new SqlError(SqlState.invalidParameterValue, 'cannot set path in scalar');
  if (steps.length === 0) return target;
  return new Jsonb(editPath(v, steps, 0, replacement.value, create, edit));
}

defineScalar(
  'jsonb_set',
  { params: [Oid.jsonb, Oid._text, Oid.jsonb], returns: Types.jsonb, impl: (a) => editJsonb(a[0] as Jsonb, a[1] as SqlArray, a[2] as Jsonb, true, 'set') },
  {
    params: [Oid.jsonb, Oid._text, Oid.jsonb, Oid.bool],
    returns: Types.jsonb,
    impl: (a) => editJsonb(a[0] as Jsonb, a[1] as SqlArray, a[2] as Jsonb, a[3] as boolean, 'set'),
  },
);
defineScalar(
  'jsonb_insert',
  { params: [Oid.jsonb, Oid._text, Oid.jsonb], returns: Types.jsonb, impl: (a) => editJsonb(a[0] as Jsonb, a[1] as SqlArray, a[2] as Jsonb, true, 'insertBefore') },
  {
    params: [Oid.jsonb, Oid._text, Oid.jsonb, Oid.bool],
    returns: Types.jsonb,
    impl: (a) => editJsonb(a[0] as Jsonb, a[1] as SqlArray, a[2] as Jsonb, true, a[3] === true ? 'insertAfter' : 'insertBefore'),
  },
);
