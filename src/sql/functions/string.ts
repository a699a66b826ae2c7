// String functions (PostgreSQL's "String Functions and Operators" and "Binary String Functions"
// tables). Text is counted in characters (code points), as PostgreSQL counts UTF-8 text, not in
// UTF-16 units; case mapping and character classes are those of the C locale (ASCII only), the
// collation Cairn runs under. Functions taking "any" (concat, format) render each argument with
// its type's output function, which needs the argument types the binder resolved: such overloads
// carry a `specialize` factory (see TypedScalarOverload) and fall back on the value's shape.
import { createHash } from 'node:crypto';
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, SqlRecord, type Datum, type TimeTz } from '../types/datum.js';
import { Interval } from '../types/interval.js';
import { Numeric } from '../types/numeric.js';
import { arrayTypeOf, NO_TYPMOD, Oid, Types, type SqlType } from '../types/oids.js';
import type { TypeSettings } from '../types/settings.js';
import { formatText, utf8Bytes } from '../types/text_io.js';
import type { ScalarImpl } from '../plan/bound.js';
import { defineScalar, type ScalarOverload } from './registry.js';

/**
 * Longest string (in UTF-16 units) a function may build: repeat, lpad, rpad and friends refuse
 * larger results with 54000, as PostgreSQL refuses results beyond its 1 GB field limit.
 */
export const MAX_STRING_RESULT_LENGTH = 64 * 1024 * 1024;
/** SQLSTATE substring_error (22011), for negative lengths. */
const SUBSTRING_ERROR = '22011';

// ---- typed overloads ---------------------------------------------------------------------------------------

/**
 * An overload whose implementation depends on the resolved argument types. The binder should call
 * `specialize(argTypes)` when binding the call and use its result as the implementation; `impl`
 * alone guesses each argument's type from its value (wrong for date, time, timestamp and float4).
 */
export interface TypedScalarOverload extends ScalarOverload {
  readonly specialize: (argTypes: readonly SqlType[]) => ScalarImpl;
}

export function typedScalar(o: Omit<ScalarOverload, 'impl'> & { readonly specialize: (argTypes: readonly SqlType[]) => ScalarImpl }): TypedScalarOverload {
  return { ...o, impl: (args, ctx) => o.specialize(args.map(guessType))(args, ctx) };
}

/** The type a value most probably has, judged by its in-memory form (datum.ts); text for NULL. */
export function guessType(value: Datum): SqlType {
  const t = (oid: number): SqlType => ({ oid, typmod: NO_TYPMOD });
  if (value === null) return Types.unknown;
  switch (typeof value) {
    case 'boolean':
      return Types.bool;
    case 'number':
      return Number.isInteger(value) && Math.abs(value) <= 2147483647 ? Types.int4 : Types.float8;
    case 'bigint':
      return Types.int8;
    case 'string':
      return Types.text;
  }
  if (value instanceof Uint8Array) return Types.bytea;
  if (value instanceof Numeric) return Types.numeric;
  if (value instanceof Interval) return Types.interval;
  if (value instanceof SqlArray) return t(arrayTypeOf(value.elementType) || Oid._text);
  if (value instanceof SqlRecord) return Types.record;
  if (isTimeTz(value)) return Types.timetz;
  return Types.jsonb;
}

function isTimeTz(v: object): v is TimeTz {
  return 'micros' in v && 'offsetSeconds' in v;
}

/** The text of a non-null argument as concat, format and quote_literal use it: its type's output function. */
export function textOf(value: Datum, type: SqlType, s: TypeSettings): string {
  if (type.oid === Oid.unknown) return value as string;
  return formatText(value, type, s);
}

// ---- characters ---------------------------------------------------------------------------------------------

const SURROGATE = /[\uD800-\uDFFF]/;

/** The characters (code points) of a string, or undefined when every UTF-16 unit is one. */
function codePointsOf(s: string): string[] | undefined {
  return SURROGATE.test(s) ? Array.from(s) : undefined;
}

export function charLength(s: string): number {
  const cps = codePointsOf(s);
  return cps === undefined ? s.length : cps.length;
}

/** Characters [start, end) by character index (0-based, clamped). */
export function sliceChars(s: string, start: number, end?: number): string {
  const cps = codePointsOf(s);
  if (cps === undefined) return s.slice(Math.max(start, 0), end === undefined ? undefined : Math.max(end, 0));
  return cps.slice(Math.max(start, 0), end === undefined ? undefined : Math.max(end, 0)).join('');
}

/** The UTF-16 offset of character index `charIndex` (clamped to the string). */
export function utf16Offset(s: string, charIndex: number): number {
  if (!SURROGATE.test(s)) return Math.min(Math.max(charIndex, 0), s.length);
  let i = 0;
  for (let c = 0; c < charIndex && i < s.length; c++) i += (s.codePointAt(i)! > 0xffff ? 2 : 1);
  return i;
}

/** The character index of UTF-16 offset `offset`. */
export function charIndexOf(s: string, offset: number): number {
  return SURROGATE.test(s) ? Array.from(s.slice(0, offset)).length : offset;
}

function checkResultLength(length: number): void {
  if (length > MAX_STRING_RESULT_LENGTH) throw new SqlError(SqlState.programLimitExceeded, 'requested length too large');
}

function negativeSubstringLength(): SqlError {
  return new SqlError(SUBSTRING_ERROR, 'negative substring length not allowed');
}

/** SQL's substring(s from start for count) on a sequence of `length` items: the [begin, end) to keep. */
function substringBounds(length: number, start: number, count: number | undefined): [number, number] {
  if (count !== undefined && count < 0) throw negativeSubstringLength();
  const begin = Math.max(start, 1);
  const end = count === undefined ? length + 1 : Math.min(start + count, length + 1);
  if (end <= begin) return [0, 0];
  return [begin - 1, end - 1];
}

function textSubstring(s: string, start: number, count: number | undefined): string {
  const [b, e] = substringBounds(charLength(s), start, count);
  return b === e ? '' : sliceChars(s, b, e);
}

function byteaSubstring(bytes: Uint8Array, start: number, count: number | undefined): Uint8Array {
  const [b, e] = substringBounds(bytes.length, start, count);
  return bytes.slice(b, e);
}

/** ASCII-only case mapping, as in the C locale. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** initcap: the first letter of each run of ASCII letters and digits upper case, the rest lower. */
function initcap(s: string): string {
  let out = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    out += inWord ? asciiLower(ch) : asciiUpper(ch);
    inWord = isAsciiAlnum(s.charCodeAt(i));
  }
  return out;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// ---- length and case ------------------------------------------------------------------------------------

const T = Oid.text;
const text1 = (fn: (s: string) => Datum, returns: SqlType = Types.text): ScalarOverload => ({ params: [T], returns, impl: (a) => fn(a[0] as string) });

for (const name of ['length', 'char_length', 'character_length']) defineScalar(name, text1(charLength, Types.int4));
defineScalar('length', { params: [Oid.bytea], returns: Types.int4, impl: (a) => (a[0] as Uint8Array).length });
defineScalar('octet_length', text1(utf8Length, Types.int4), { params: [Oid.bytea], returns: Types.int4, impl: (a) => (a[0] as Uint8Array).length });
defineScalar('bit_length', text1((s) => 8 * utf8Length(s), Types.int4), { params: [Oid.bytea], returns: Types.int4, impl: (a) => 8 * (a[0] as Uint8Array).length });
defineScalar('lower', text1(asciiLower));
defineScalar('upper', text1(asciiUpper));
defineScalar('initcap', text1(initcap));

// ---- substrings and positions ---------------------------------------------------------------------------

const substringOverloads: ScalarOverload[] = [
  { params: [T, Oid.int4], returns: Types.text, impl: (a) => textSubstring(a[0] as string, a[1] as number, undefined) },
  { params: [T, Oid.int4, Oid.int4], returns: Types.text, impl: (a) => textSubstring(a[0] as string, a[1] as number, a[2] as number) },
  { params: [Oid.bytea, Oid.int4], returns: Types.bytea, impl: (a) => byteaSubstring(a[0] as Uint8Array, a[1] as number, undefined) },
  { params: [Oid.bytea, Oid.int4, Oid.int4], returns: Types.bytea, impl: (a) => byteaSubstring(a[0] as Uint8Array, a[1] as number, a[2] as number) },
];
defineScalar('substr', ...substringOverloads);
defineScalar(
  'substring',
  ...substringOverloads,
  // substring(s from pattern): POSIX regular expression; the first parenthesized group if any.
  {
    params: [T, T],
    returns: Types.text,
    impl: (a) => {
      const s = a[0] as string;
      const re = compilePosixRegex(a[1] as string, parseRegexFlags(''));
      re.lastIndex = 0;
      const m = re.exec(s);
      if (m === null) return null;
      return m.length > 1 ? (m[1] ?? null) : m[0];
    },
  },
  // substring(s similar pattern escape esc): SQL regular expression.
  { params: [T, T, T], returns: Types.text, impl: (a) => similarSubstring(a[0] as string, a[1] as string, a[2] as string) },
);

function textPosition(s: string, sub: string): number {
  const i = s.indexOf(sub);
  return i < 0 ? 0 : charIndexOf(s, i) + 1;
}

function bytesIndexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength));
}

defineScalar(
  'position',
  { params: [T, T], returns: Types.int4, impl: (a) => textPosition(a[0] as string, a[1] as string) },
  { params: [Oid.bytea, Oid.bytea], returns: Types.int4, impl: (a) => bytesIndexOf(a[0] as Uint8Array, a[1] as Uint8Array) + 1 },
);
defineScalar('strpos', { params: [T, T], returns: Types.int4, impl: (a) => textPosition(a[0] as string, a[1] as string) });
defineScalar('starts_with', { params: [T, T], returns: Types.bool, impl: (a) => (a[0] as string).startsWith(a[1] as string) });

// A negative count is allowed: the rest of the string then starts before `from` (as in PostgreSQL).
function overlay(s: string, placing: string, from: number, count: number | undefined): string {
  const n = count ?? charLength(placing);
  return textSubstring(s, 1, from - 1) + placing + textSubstring(s, from + n, undefined);
}

function byteaOverlay(s: Uint8Array, placing: Uint8Array, from: number, count: number | undefined): Uint8Array {
  const n = count ?? placing.length;
  return Buffer.concat([byteaSubstring(s, 1, from - 1), placing, byteaSubstring(s, from + n, undefined)]);
}

defineScalar(
  'overlay',
  { params: [T, T, Oid.int4], returns: Types.text, impl: (a) => overlay(a[0] as string, a[1] as string, a[2] as number, undefined) },
  { params: [T, T, Oid.int4, Oid.int4], returns: Types.text, impl: (a) => overlay(a[0] as string, a[1] as string, a[2] as number, a[3] as number) },
  { params: [Oid.bytea, Oid.bytea, Oid.int4], returns: Types.bytea, impl: (a) => byteaOverlay(a[0] as Uint8Array, a[1] as Uint8Array, a[2] as number, undefined) },
  {
    params: [Oid.bytea, Oid.bytea, Oid.int4, Oid.int4],
    returns: Types.bytea,
    impl: (a) => byteaOverlay(a[0] as Uint8Array, a[1] as Uint8Array, a[2] as number, a[3] as number),
  },
);

defineScalar('left', {
  params: [T, Oid.int4],
  returns: Types.text,
  impl: (a) => {
    const s = a[0] as string;
    const n = a[1] as number;
    return n >= 0 ? sliceChars(s, 0, n) : sliceChars(s, 0, charLength(s) + n);
  },
});
defineScalar('right', {
  params: [T, Oid.int4],
  returns: Types.text,
  impl: (a) => {
    const s = a[0] as string;
    const n = a[1] as number;
    const len = charLength(s);
    return n >= 0 ? sliceChars(s, Math.max(len - n, 0)) : sliceChars(s, -n);
  },
});

// ---- replacing and trimming -------------------------------------------------------------------------------

defineScalar('replace', {
  params: [T, T, T],
  returns: Types.text,
  impl: (a) => {
    const from = a[1] as string;
    if (from === '') return a[0] as string;
    const out = (a[0] as string).split(from).join(a[2] as string);
    checkResultLength(out.length);
    return out;
  },
});

defineScalar('translate', {
  params: [T, T, T],
  returns: Types.text,
  impl: (a) => {
    const from = Array.from(a[1] as string);
    const to = Array.from(a[2] as string);
    const map = new Map<string, string>();
    // The first occurrence of a character in `from` decides; those past the end of `to` are deleted.
    from.forEach((c, i) => {
      if (!map.has(c)) map.set(c, to[i] ?? '');
    });
    let out = '';
    for (const c of a[0] as string) out += map.get(c) ?? c;
    return out;
  },
});

type TrimSide = 'both' | 'leading' | 'trailing';

function trimText(s: string, chars: string, side: TrimSide): string {
  const set = new Set(Array.from(chars));
  const cps = Array.from(s);
  let b = 0;
  let e = cps.length;
  if (side !== 'trailing') while (b < e && set.has(cps[b]!)) b++;
  if (side !== 'leading') while (e > b && set.has(cps[e - 1]!)) e--;
  return b === 0 && e === cps.length ? s : cps.slice(b, e).join('');
}

function trimBytes(s: Uint8Array, chars: Uint8Array, side: TrimSide): Uint8Array {
  const set = new Set(chars);
  let b = 0;
  let e = s.length;
  if (side !== 'trailing') while (b < e && set.has(s[b]!)) b++;
  if (side !== 'leading') while (e > b && set.has(s[e - 1]!)) e--;
  return s.slice(b, e);
}

for (const [name, side] of [
  ['btrim', 'both'],
  ['ltrim', 'leading'],
  ['rtrim', 'trailing'],
] as const) {
  defineScalar(
    name,
    text1((s) => trimText(s, ' ', side)),
    { params: [T, T], returns: Types.text, impl: (a) => trimText(a[0] as string, a[1] as string, side) },
    { params: [Oid.bytea, Oid.bytea], returns: Types.bytea, impl: (a) => trimBytes(a[0] as Uint8Array, a[1] as Uint8Array, side) },
  );
}

// ---- padding and repetition ----------------------------------------------------------------------------

function pad(s: string, length: number, fill: string, left: boolean): string {
  if (length <= 0) return '';
  checkResultLength(length);
  const cps = Array.from(s);
  if (cps.length >= length) return cps.slice(0, length).join('');
  const fillChars = Array.from(fill);
  if (fillChars.length === 0) return s;
  const need = length - cps.length;
  let padding = '';
  for (let i = 0; i < need; i++) padding += fillChars[i % fillChars.length]!;
  return left ? padding + s : s + padding;
}

for (const [name, left] of [
  ['lpad', true],
  ['rpad', false],
] as const) {
  defineScalar(
    name,
    { params: [T, Oid.int4], returns: Types.text, impl: (a) => pad(a[0] as string, a[1] as number, ' ', left) },
    { params: [T, Oid.int4, T], returns: Types.text, impl: (a) => pad(a[0] as string, a[1] as number, a[2] as string, left) },
  );
}

defineScalar('repeat', {
  params: [T, Oid.int4],
  returns: Types.text,
  impl: (a) => {
    const s = a[0] as string;
    const n = a[1] as number;
    if (n <= 0 || s === '') return '';
    checkResultLength(s.length * n);
    return s.repeat(n);
  },
});

defineScalar('reverse', text1((s) => Array.from(s).reverse().join('')));

defineScalar('split_part', {
  params: [T, T, Oid.int4],
  returns: Types.text,
  impl: (a) => {
    const s = a[0] as string;
    const delimiter = a[1] as string;
    const n = a[2] as number;
    if (n === 0) throw new SqlError(SqlState.invalidParameterValue, 'field position must not be zero');
    if (s === '') return '';
    const fields = delimiter === '' ? [s] : s.split(delimiter);
    const i = n > 0 ? n - 1 : fields.length + n;
    return fields[i] ?? '';
  },
});

// ---- concatenation and formatting ----------------------------------------------------------------------

function argTexts(args: readonly Datum[], types: readonly SqlType[], from: number, s: TypeSettings): string[] {
  const out: string[] = [];
  for (let i = from; i < args.length; i++) {
    const v = args[i]!;
    if (v !== null) out.push(textOf(v, types[i] ?? guessType(v), s));
  }
  return out;
}

defineScalar(
  'concat',
  // The repeated last parameter makes one variadic argument the minimum, as in PostgreSQL.
  typedScalar({
    params: ['any', 'any'],
    variadic: true,
    returns: Types.text,
    strict: false,
    specialize: (types) => (args, ctx) => {
      const out = argTexts(args, types, 0, ctx.settings).join('');
      checkResultLength(out.length);
      return out;
    },
  }),
);

defineScalar(
  'concat_ws',
  typedScalar({
    params: [T, 'any', 'any'],
    variadic: true,
    returns: Types.text,
    strict: false,
    specialize: (types) => (args, ctx) => {
      if (args[0] === null) return null;
      const out = argTexts(args, types, 1, ctx.settings).join(args[0] as string);
      checkResultLength(out.length);
      return out;
    },
  }),
);

/** Keywords quote_ident must quote: every PostgreSQL 15 keyword that is not unreserved. */
const QUOTED_KEYWORDS = new Set(
  (
    'between bigint bit boolean char character coalesce dec decimal exists extract float greatest grouping inout int integer interval ' +
    'least national nchar none normalize nullif numeric out overlay position precision real row setof smallint substring time timestamp ' +
    'treat trim values varchar xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize ' +
    'xmltable all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create current_catalog ' +
    'current_date current_role current_time current_timestamp current_user default deferrable desc distinct do else end except false ' +
    'fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp not null offset ' +
    'on only or order placing primary references returning select session_user some symmetric table then to trailing true union unique ' +
    'user using variadic when where window with authorization binary collation concurrently cross current_schema freeze full ilike inner ' +
    'is isnull join left like natural notnull outer overlaps right similar tablesample verbose'
  ).split(' '),
);

export function quoteIdent(name: string): string {
  if (/^[a-z_][a-z0-9_]*$/.test(name) && !QUOTED_KEYWORDS.has(name)) return name;
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(s: string): string {
  const body = s.replace(/'/g, "''");
  return s.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

defineScalar('quote_ident', text1(quoteIdent));
// One polymorphic overload each: text arguments render as themselves, so a separate text
// overload (PostgreSQL has one) would only tie with this one in resolution.
defineScalar(
  'quote_literal',
  typedScalar({ params: ['anyelement'], returns: Types.text, specialize: (types) => (a, ctx) => quoteLiteral(textOf(a[0]!, types[0]!, ctx.settings)) }),
);
defineScalar(
  'quote_nullable',
  typedScalar({
    params: ['anyelement'],
    returns: Types.text,
    strict: false,
    specialize: (types) => (a, ctx) => (a[0] === null ? 'NULL' : quoteLiteral(textOf(a[0]!, types[0]!, ctx.settings))),
  }),
);

function formatError(message: string, hint = true): SqlError {
  return new SqlError(SqlState.invalidParameterValue, message, hint ? { hint: 'For a single "%" use "%%".' } : {});
}

/** format(fmt, args...): %s, %I, %L with optional position (n$), flag (-) and width (n, *, *n$). */
function formatString(fmt: string, args: readonly Datum[], types: readonly SqlType[], s: TypeSettings): string {
  let out = '';
  let next = 0;
  const readInt = (i: number): [number | undefined, number] => {
    let j = i;
    while (j < fmt.length && fmt.charCodeAt(j) >= 0x30 && fmt.charCodeAt(j) <= 0x39) j++;
    if (j === i) return [undefined, i];
    const n = Number(fmt.slice(i, j));
    if (n > 2147483647) throw new SqlError(SqlState.invalidParameterValue, 'number is out of range');
    return [n, j];
  };
  const argAt = (position: number): number => {
    if (position >= args.length) throw formatError('too few arguments for format()', false);
    return position;
  };
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    i++;
    if (i >= fmt.length) throw formatError('unterminated format() type specifier');
    if (fmt[i] === '%') {
      out += '%';
      continue;
    }
    // [argpos$][-][width | * | *argpos$]type
    let argIndex: number | undefined;
    let [n, j] = readInt(i);
    if (n !== undefined && fmt[j] === '$') {
      if (n === 0) throw new SqlError(SqlState.invalidParameterValue, 'format specifies argument 0, but arguments are numbered from 1');
      argIndex = n;
      i = j + 1;
    }
    let leftAlign = false;
    if (fmt[i] === '-') {
      leftAlign = true;
      i++;
    }
    let width: number | undefined;
    if (fmt[i] === '*') {
      i++;
      let widthArg: number;
      [n, j] = readInt(i);
      if (n !== undefined && fmt[j] === '$') {
        if (n === 0) throw new SqlError(SqlState.invalidParameterValue, 'format specifies argument 0, but arguments are numbered from 1');
        widthArg = n;
        i = j + 1;
      } else {
        widthArg = ++next;
      }
      const w = args[argAt(widthArg)];
      width = w === null || w === undefined ? 0 : Number(w);
      if (width < 0) {
        leftAlign = true;
        width = -width;
      }
    } else {
      [n, j] = readInt(i);
      if (n !== undefined) {
        width = n;
        i = j;
      }
    }
    if (i >= fmt.length) throw formatError('unterminated format() type specifier');
    const type = fmt[i]!;
    if (type !== 's' && type !== 'I' && type !== 'L') throw formatError(`unrecognized format() type specifier "${type}"`);
    const index = argAt(argIndex ?? ++next);
    next = index;
    const v = args[index]!;
    let piece: string;
    if (type === 's') piece = v === null ? '' : textOf(v, types[index]!, s);
    else if (type === 'I') {
      if (v === null) throw new SqlError(SqlState.nullValueNotAllowed, 'null values cannot be formatted as an SQL identifier');
      piece = quoteIdent(textOf(v, types[index]!, s));
    } else piece = v === null ? 'NULL' : quoteLiteral(textOf(v, types[index]!, s));
    if (width !== undefined) {
      const len = charLength(piece);
      if (len < width) piece = leftAlign ? piece + ' '.repeat(width - len) : ' '.repeat(width - len) + piece;
    }
    out += piece;
    checkResultLength(out.length);
  }
  return out;
}

defineScalar(
  'format',
  { params: [T], returns: Types.text, strict: false, impl: (a, ctx) => (a[0] === null ? null : formatString(a[0] as string, a, [Types.text], ctx.settings)) },
  typedScalar({
    params: [T, 'any', 'any'],
    variadic: true,
    returns: Types.text,
    strict: false,
    specialize: (types) => (a, ctx) => (a[0] === null ? null : formatString(a[0] as string, a, types, ctx.settings)),
  }),
);

// ---- hashes and encodings --------------------------------------------------------------------------------

function hash(algorithm: string, data: Uint8Array): Buffer {
  return createHash(algorithm).update(data).digest();
}

defineScalar(
  'md5',
  text1((s) => hash('md5', utf8Bytes(s)).toString('hex')),
  { params: [Oid.bytea], returns: Types.text, impl: (a) => hash('md5', a[0] as Uint8Array).toString('hex') },
);
for (const bits of [224, 256, 384, 512]) {
  defineScalar(`sha${bits}`, { params: [Oid.bytea], returns: Types.bytea, impl: (a) => new Uint8Array(hash(`sha${bits}`, a[0] as Uint8Array)) });
}

/** Line length of PostgreSQL's base64 output (it breaks lines as MIME does). */
const BASE64_LINE_LENGTH = 76;

function encodeBytes(data: Uint8Array, format: string): string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  switch (format.toLowerCase()) {
    case 'hex':
      return buf.toString('hex');
    case 'base64': {
      const flat = buf.toString('base64');
      const lines: string[] = [];
      for (let i = 0; i < flat.length; i += BASE64_LINE_LENGTH) lines.push(flat.slice(i, i + BASE64_LINE_LENGTH));
      return lines.join('\n');
    }
    case 'escape': {
      let out = '';
      for (const b of data) {
        if (b === 0x5c) out += '\\\\';
        else if (b === 0 || b >= 0x80) out += `\\${b.toString(8).padStart(3, '0')}`;
        else out += String.fromCharCode(b);
      }
      return out;
    }
    default:
      throw new SqlError(SqlState.invalidParameterValue, `unrecognized encoding: "${format}"`);
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const isBlank = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function decodeHex(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (isBlank(c)) {
      i++;
      continue;
    }
    const hi = hexDigit(c);
    if (hi < 0) throw new SqlError(SqlState.invalidParameterValue, `invalid hexadecimal digit: "${String.fromCodePoint(s.codePointAt(i)!)}"`);
    if (i + 1 >= s.length) throw new SqlError(SqlState.invalidParameterValue, 'invalid hexadecimal data: odd number of digits');
    const lo = hexDigit(s.charCodeAt(i + 1));
    if (lo < 0) throw new SqlError(SqlState.invalidParameterValue, `invalid hexadecimal digit: "${String.fromCodePoint(s.codePointAt(i + 1)!)}"`);
    out.push((hi << 4) | lo);
    i += 2;
  }
  return new Uint8Array(out);
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64EndError(): SqlError {
  return new SqlError(SqlState.invalidParameterValue, 'invalid base64 end sequence', { hint: 'Input data is missing padding, is truncated, or is otherwise corrupted.' });
}

/**
 * PostgreSQL's base64 reading: whitespace is skipped, "=" may stand only in the third or fourth
 * place of a group and from then on each group yields only the bytes before the first "=".
 */
function decodeBase64(s: string): Uint8Array {
  const out: number[] = [];
  let group = 0;
  let position = 0;
  // How many bytes each group still yields: 3 until the first "=", then 1 or 2.
  let yieldBytes = 3;
  for (const ch of s) {
    if (isBlank(ch.charCodeAt(0))) continue;
    let v: number;
    if (ch === '=') {
      if (yieldBytes === 3) {
        if (position === 2) yieldBytes = 1;
        else if (position === 3) yieldBytes = 2;
        else throw new SqlError(SqlState.invalidParameterValue, 'unexpected "=" while decoding base64 sequence');
      }
      v = 0;
    } else {
      v = BASE64_ALPHABET.indexOf(ch);
      if (v < 0) throw new SqlError(SqlState.invalidParameterValue, `invalid symbol "${ch}" found while decoding base64 sequence`);
    }
    group = (group << 6) | v;
    position++;
    if (position === 4) {
      out.push((group >> 16) & 0xff);
      if (yieldBytes > 1) out.push((group >> 8) & 0xff);
      if (yieldBytes > 2) out.push(group & 0xff);
      group = 0;
      position = 0;
    }
  }
  if (position !== 0) throw base64EndError();
  return new Uint8Array(out);
}

function decodeEscape(s: string): Uint8Array {
  const raw = utf8Bytes(s);
  const out: number[] = [];
  for (let i = 0; i < raw.length; ) {
    const b = raw[i]!;
    if (b !== 0x5c) {
      out.push(b);
      i++;
      continue;
    }
    if (raw[i + 1] === 0x5c) {
      out.push(0x5c);
      i += 2;
      continue;
    }
    const d = [raw[i + 1], raw[i + 2], raw[i + 3]];
    if (d[0] !== undefined && d[0] >= 0x30 && d[0] <= 0x33 && d.every((x) => x !== undefined && x >= 0x30 && x <= 0x37)) {
      out.push(((d[0] - 0x30) << 6) | ((d[1]! - 0x30) << 3) | (d[2]! - 0x30));
      i += 4;
      continue;
    }
    throw new SqlError(SqlState.invalidTextRepresentation, 'invalid input syntax for type bytea');
  }
  return new Uint8Array(out);
}

defineScalar('encode', { params: [Oid.bytea, T], returns: Types.text, impl: (a) => encodeBytes(a[0] as Uint8Array, a[1] as string) });
defineScalar('decode', {
  params: [T, T],
  returns: Types.bytea,
  impl: (a) => {
    const format = (a[1] as string).toLowerCase();
    if (format === 'hex') return decodeHex(a[0] as string);
    if (format === 'base64') return decodeBase64(a[0] as string);
    if (format === 'escape') return decodeEscape(a[0] as string);
    throw new SqlError(SqlState.invalidParameterValue, `unrecognized encoding: "${a[1] as string}"`);
  },
});

/** Encoding names as PostgreSQL normalizes them: case and punctuation do not matter ("utf-8" is UTF8). */
function encodingOf(name: string): 'UTF8' | 'LATIN1' | 'SQL_ASCII' | undefined {
  const key = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (key === 'utf8' || key === 'unicode') return 'UTF8';
  if (key === 'latin1' || key === 'iso88591') return 'LATIN1';
  if (key === 'sqlascii') return 'SQL_ASCII';
  return undefined;
}

/** Bytes of `data` in `encoding` read as text; invalid UTF-8 is refused as PostgreSQL refuses it. */
function decodeText(data: Uint8Array, encoding: 'UTF8' | 'LATIN1' | 'SQL_ASCII'): string {
  if (encoding === 'LATIN1') return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  try {
    const s = new TextDecoder('utf-8', { fatal: true }).decode(data);
    const nul = data.indexOf(0);
    if (nul >= 0) throw new SqlError(SqlState.characterNotInRepertoire, 'invalid byte sequence for encoding "UTF8": 0x00');
    return s;
  } catch (err) {
    if (err instanceof SqlError) throw err;
    throw new SqlError(SqlState.characterNotInRepertoire, `invalid byte sequence for encoding "UTF8": ${invalidUtf8Sequence(data)}`);
  }
}

/** The first invalid UTF-8 sequence, as PostgreSQL reports it ("0xc3 0x28"). */
function invalidUtf8Sequence(data: Uint8Array): string {
  for (let i = 0; i < data.length; ) {
    const b = data[i]!;
    const need = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    let ok = need > 0 && i + need <= data.length;
    for (let k = 1; ok && k < need; k++) ok = (data[i + k]! & 0xc0) === 0x80;
    if (ok && need > 1) ok = new TextDecoder('utf-8', { fatal: false }).decode(data.subarray(i, i + need)) !== '\ufffd';
    if (!ok) {
      const shown = Array.from(data.subarray(i, Math.min(i + Math.max(need, 1), data.length)), (x) => `0x${x.toString(16).padStart(2, '0')}`);
      return shown.join(' ');
    }
    i += need;
  }
  return '0x00';
}

defineScalar('convert_from', {
  params: [Oid.bytea, Oid.name],
  returns: Types.text,
  impl: (a) => {
    const encoding = encodingOf(a[1] as string);
    if (encoding === undefined) throw new SqlError(SqlState.invalidParameterValue, `invalid source encoding name "${a[1] as string}"`);
    return decodeText(a[0] as Uint8Array, encoding);
  },
});
defineScalar('convert_to', {
  params: [T, Oid.name],
  returns: Types.bytea,
  impl: (a) => {
    const encoding = encodingOf(a[1] as string);
    if (encoding === undefined) throw new SqlError(SqlState.invalidParameterValue, `invalid destination encoding name "${a[1] as string}"`);
    const s = a[0] as string;
    if (encoding !== 'LATIN1') return utf8Bytes(s);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.codePointAt(i)!;
      if (c > 0xff) {
        const bytes = Array.from(utf8Bytes(String.fromCodePoint(c)), (x) => `0x${x.toString(16).padStart(2, '0')}`).join(' ');
        throw new SqlError(SqlState.untranslatableCharacter, `character with byte sequence ${bytes} in encoding "UTF8" has no equivalent in encoding "LATIN1"`);
      }
      out[i] = c;
    }
    return out;
  },
});

// ---- characters and numbers -------------------------------------------------------------------------------

defineScalar(
  'to_hex',
  { params: [Oid.int4], returns: Types.text, impl: (a) => ((a[0] as number) >>> 0).toString(16) },
  { params: [Oid.int8], returns: Types.text, impl: (a) => BigInt.asUintN(64, a[0] as bigint).toString(16) },
);
defineScalar('ascii', text1((s) => (s.length === 0 ? 0 : s.codePointAt(0)!), Types.int4));
defineScalar('chr', {
  params: [Oid.int4],
  returns: Types.text,
  impl: (a) => {
    const c = a[0] as number;
    if (c < 0) throw new SqlError(SqlState.invalidParameterValue, 'character number must be positive');
    if (c === 0) throw new SqlError(SqlState.programLimitExceeded, 'null character not permitted');
    if (c > 0x10ffff) throw new SqlError(SqlState.programLimitExceeded, `requested character too large for encoding: ${c}`);
    if (c >= 0xd800 && c <= 0xdfff) throw new SqlError(SqlState.programLimitExceeded, `requested character not valid for encoding: ${c}`);
    return String.fromCodePoint(c);
  },
});

// ---- splitting into and joining arrays --------------------------------------------------------------------

/** string_to_array's fields: NULL delimiter splits into characters, '' keeps the string whole. */
export function splitToFields(s: string, delimiter: string | null, nullString: string | null): Array<string | null> {
  if (s === '') return [];
  const fields = delimiter === null ? Array.from(s) : delimiter === '' ? [s] : s.split(delimiter);
  return nullString === null ? fields : fields.map((f) => (f === nullString ? null : f));
}

defineScalar(
  'string_to_array',
  {
    params: [T, T],
    returns: Types.textArray,
    strict: false,
    impl: (a) => (a[0] === null ? null : new SqlArray(Oid.text, splitToFields(a[0] as string, a[1] as string | null, null))),
  },
  {
    params: [T, T, T],
    returns: Types.textArray,
    strict: false,
    impl: (a) => (a[0] === null ? null : new SqlArray(Oid.text, splitToFields(a[0] as string, a[1] as string | null, a[2] as string | null))),
  },
);

/** Elements of an array of any dimension in storage order. */
export function flattenArray(a: SqlArray): Datum[] {
  const out: Datum[] = [];
  const walk = (x: SqlArray): void => {
    for (const v of x.values) {
      if (v instanceof SqlArray && x.elementType !== Oid.int2vector && x.elementType !== Oid.oidvector) walk(v);
      else out.push(v);
    }
  };
  walk(a);
  return out;
}

function arrayToString(a: SqlArray, delimiter: string, nullString: string | null, s: TypeSettings): string {
  const element: SqlType = { oid: a.elementType, typmod: NO_TYPMOD };
  const parts: string[] = [];
  for (const v of flattenArray(a)) {
    if (v === null) {
      if (nullString !== null) parts.push(nullString);
    } else parts.push(formatText(v, element, s));
  }
  const out = parts.join(delimiter);
  checkResultLength(out.length);
  return out;
}

defineScalar(
  'array_to_string',
  { params: ['anyarray', T], returns: Types.text, impl: (a, ctx) => arrayToString(a[0] as SqlArray, a[1] as string, null, ctx.settings) },
  {
    params: ['anyarray', T, T],
    returns: Types.text,
    strict: false,
    impl: (a, ctx) => (a[0] === null || a[1] === null ? null : arrayToString(a[0] as SqlArray, a[1] as string, a[2] as string | null, ctx.settings)),
  },
);

// ---- POSIX regular expressions as JavaScript ones ----------------------------------------------------------
//
// PostgreSQL's regular expressions are Henry Spencer's AREs. Most of their syntax means the same in
// JavaScript (with the u flag, so that "." is one character); what differs is translated here:
// bracket classes ([[:alpha:]], ASCII only as in the C locale), the escapes \m \M \y \Y \A \Z \b,
// a "{" that does not start a bound (literal in an ARE), embedded options ((?i) at the start),
// the ***= and ***: prefixes, and the newline-sensitivity flags.

/** Compiled patterns remembered (patterns are usually constants, so a few cover a workload). */
const REGEX_CACHE_SIZE = 256;
/** PostgreSQL's RE_DUP_MAX: the largest count a bound {m,n} may give. */
const REGEX_MAX_REPETITION = 255;
/** SQLSTATE invalid_use_of_escape_character. */
const INVALID_USE_OF_ESCAPE_CHARACTER = '2200C';

export interface RegexFlags {
  readonly global: boolean;
  readonly caseInsensitive: boolean;
  /** none: "." matches newline; full: neither "." nor ^/$ cross lines; partial/inverse: one of them. */
  readonly newline: 'none' | 'full' | 'partial' | 'inverse';
  readonly expanded: boolean;
  readonly literal: boolean;
}

interface MutableFlags {
  global: boolean;
  caseInsensitive: boolean;
  newline: RegexFlags['newline'];
  expanded: boolean;
  literal: boolean;
}

/** Applies one option letter; false for a letter that is not an option. */
function applyRegexOption(f: MutableFlags, c: string, allowGlobal: boolean): boolean {
  switch (c) {
    case 'g':
      if (!allowGlobal) return false;
      f.global = true;
      return true;
    case 'i':
      f.caseInsensitive = true;
      return true;
    case 'c':
      f.caseInsensitive = false;
      return true;
    case 'n':
    case 'm':
      f.newline = 'full';
      return true;
    case 's':
      f.newline = 'none';
      return true;
    case 'p':
      f.newline = 'partial';
      return true;
    case 'w':
      f.newline = 'inverse';
      return true;
    case 'x':
      f.expanded = true;
      return true;
    case 't':
      f.expanded = false;
      return true;
    case 'q':
      f.literal = true;
      return true;
    case 'e':
      return true;
    case 'b':
      throw new SqlError(SqlState.featureNotSupported, 'basic regular expressions (the "b" option) are not supported');
    default:
      return false;
  }
}

/** The flags argument of the regexp functions. */
export function parseRegexFlags(text: string): RegexFlags {
  const f: MutableFlags = { global: false, caseInsensitive: false, newline: 'none', expanded: false, literal: false };
  for (const c of text) {
    if (!applyRegexOption(f, c, true)) throw new SqlError(SqlState.invalidParameterValue, `invalid regular expression option: "${c}"`);
  }
  return f;
}

function invalidRegex(reason: string): SqlError {
  return new SqlError(SqlState.invalidRegularExpression, `invalid regular expression: ${reason}`);
}

/** A character that stands for itself outside brackets, escaped where JavaScript gives it a meaning. */
function literalOutside(ch: string): string {
  return '\\^$.*+?()[]{}|/'.includes(ch) ? `\\${ch}` : ch;
}

function literalInside(ch: string): string {
  return '\\]^-['.includes(ch) ? `\\${ch}` : ch;
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'A-Za-z',
  upper: 'A-Z',
  lower: 'a-z',
  digit: '0-9',
  xdigit: '0-9A-Fa-f',
  alnum: '0-9A-Za-z',
  word: '0-9A-Za-z_',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  graph: '!-~',
  print: ' -~',
  cntrl: '\\x00-\\x1f\\x7f',
};

function codePointText(cp: number): string {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw invalidRegex('invalid escape \\ sequence');
  return String.fromCodePoint(cp);
}

/** The escape starting at p[i] (just after the backslash): its JavaScript text and where it ends. */
function translateEscape(p: string, i: number, inBracket: boolean): [string, number] {
  if (i >= p.length) throw invalidRegex('invalid escape \\ sequence');
  const cp = p.codePointAt(i)!;
  const ch = String.fromCodePoint(cp);
  const next = i + ch.length;
  const literal = inBracket ? literalInside : literalOutside;
  const hexRun = (from: number, max: number): [number, number] => {
    let j = from;
    while (j < p.length && j - from < max && /[0-9A-Fa-f]/.test(p[j]!)) j++;
    if (j === from) throw invalidRegex('invalid escape \\ sequence');
    return [parseInt(p.slice(from, j), 16), j];
  };
  switch (ch) {
    case 'd':
    case 'D':
    case 's':
    case 'S':
    case 'w':
    case 'W':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
      return [`\\${ch}`, next];
    case 'a':
      return ['\\x07', next];
    case 'b':
      return ['\\x08', next];
    case 'e':
      return ['\\x1b', next];
    case 'B':
      return ['\\\\', next];
    case 'c': {
      if (next >= p.length) throw invalidRegex('invalid escape \\ sequence');
      return [literal(String.fromCharCode(p.charCodeAt(next) & 0x1f)), next + 1];
    }
    case 'x': {
      const [v, j] = hexRun(next, 8);
      return [literal(codePointText(v)), j];
    }
    case 'u': {
      const [v, j] = hexRun(next, 4);
      return [literal(codePointText(v)), j];
    }
    case 'U': {
      const [v, j] = hexRun(next, 8);
      return [literal(codePointText(v)), j];
    }
    case '0': {
      let j = next;
      while (j < p.length && j - next < 2 && p[j]! >= '0' && p[j]! <= '7') j++;
      return [literal(String.fromCharCode(j === next ? 0 : parseInt(p.slice(next, j), 8))), j];
    }
  }
  if (!inBracket) {
    switch (ch) {
      case 'A':
        return ['(?<![\\s\\S])', next];
      case 'Z':
        return ['(?![\\s\\S])', next];
      case 'm':
        return ['(?<![0-9A-Za-z_])(?=[0-9A-Za-z_])', next];
      case 'M':
        return ['(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])', next];
      case 'y':
        return ['\\b', next];
      case 'Y':
        return ['\\B', next];
    }
    if (ch >= '1' && ch <= '9') {
      let j = next;
      while (j < p.length && p[j]! >= '0' && p[j]! <= '9') j++;
      return [`\\${p.slice(i, j)}`, j];
    }
  }
  if (/[0-9A-Za-z]/.test(ch)) throw invalidRegex('invalid escape \\ sequence');
  return [literal(ch), next];
}

/** The bracket expression starting at p[i] (just after "["). */
function translateBracket(p: string, i: number, newlineSensitive: boolean): [string, number] {
  let out = '[';
  let j = i;
  let negated = false;
  if (p[j] === '^') {
    negated = true;
    out += '^';
    j++;
  }
  if (p[j] === ']') {
    out += '\\]';
    j++;
  }
  while (j < p.length && p[j] !== ']') {
    if (p[j] === '[' && (p[j + 1] === ':' || p[j + 1] === '.' || p[j + 1] === '=')) {
      const kind = p[j + 1]!;
      const end = p.indexOf(`${kind}]`, j + 2);
      if (end < 0) throw invalidRegex('brackets [] not balanced');
      const name = p.slice(j + 2, end);
      if (kind === ':') {
        const cls = POSIX_CLASSES[name];
        if (cls === undefined) throw invalidRegex('invalid character class');
        out += cls;
      } else {
        if (Array.from(name).length !== 1) throw invalidRegex('invalid collating element');
        out += literalInside(name);
      }
      j = end + 2;
      continue;
    }
    if (p[j] === '\\') {
      const [t, k] = translateEscape(p, j + 1, true);
      out += t;
      j = k;
      continue;
    }
    const ch = String.fromCodePoint(p.codePointAt(j)!);
    out += ch === '-' ? '-' : literalInside(ch);
    j += ch.length;
  }
  if (j >= p.length) throw invalidRegex('brackets [] not balanced');
  // In newline-sensitive mode a negated bracket never matches a newline.
  if (negated && newlineSensitive) out += '\\n';
  return [`${out}]`, j + 1];
}

const BOUND = /\{(\d+)(,(\d*))?\}/y;

function translatePosix(p: string, f: MutableFlags): string {
  let out = '';
  let i = 0;
  const n = p.length;
  const newlineSensitive = f.newline === 'full' || f.newline === 'partial';
  while (i < n) {
    const c = p[i]!;
    if (f.expanded && /\s/.test(c)) {
      i++;
      continue;
    }
    if (f.expanded && c === '#') {
      while (i < n && p[i] !== '\n') i++;
      continue;
    }
    switch (c) {
      case '\\': {
        const [t, j] = translateEscape(p, i + 1, false);
        out += t;
        i = j;
        continue;
      }
      case '[': {
        const [t, j] = translateBracket(p, i + 1, newlineSensitive);
        out += t;
        i = j;
        continue;
      }
      case '{': {
        BOUND.lastIndex = i;
        const m = BOUND.exec(p);
        if (m === null) {
          out += '\\{';
          i++;
          continue;
        }
        const low = Number(m[1]);
        const high = m[3] === undefined || m[3] === '' ? undefined : Number(m[3]);
        if (low > REGEX_MAX_REPETITION || (high !== undefined && (high > REGEX_MAX_REPETITION || high < low))) throw invalidRegex('invalid repetition count(s)');
        out += m[0];
        i += m[0].length;
        continue;
      }
      case '}':
      case ']':
        out += `\\${c}`;
        i++;
        continue;
      case '(':
        if (p[i + 1] === '?') {
          if (p[i + 2] === '#') {
            const end = p.indexOf(')', i);
            i = end < 0 ? n : end + 1;
            continue;
          }
          const head = /^\(\?(?::|=|!|<=|<!)/.exec(p.slice(i, i + 4));
          if (head === null) throw invalidRegex('quantifier operand invalid');
          out += head[0];
          i += head[0].length;
          continue;
        }
        out += '(';
        i++;
        continue;
      case '.':
        out += newlineSensitive ? '[^\\n]' : '[\\s\\S]';
        i++;
        continue;
      default: {
        const ch = String.fromCodePoint(p.codePointAt(i)!);
        out += ch === '/' ? '\\/' : ch;
        i += ch.length;
      }
    }
  }
  return out;
}

const REGEX_CACHE = new Map<string, RegExp>();

function jsRegexError(message: string): string {
  if (/Unterminated group|Unmatched '\)'/.test(message)) return 'parentheses () not balanced';
  if (/Unterminated character class/.test(message)) return 'brackets [] not balanced';
  if (/Nothing to repeat/.test(message)) return 'quantifier operand invalid';
  if (/out of order/.test(message)) return 'invalid repetition count(s)';
  if (/reference|decimal escape/i.test(message)) return 'invalid backreference number';
  if (/escape/i.test(message)) return 'invalid escape \\ sequence';
  return message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '');
}

/** A PostgreSQL regular expression as a JavaScript RegExp (flags g and u always set; callers set lastIndex). */
export function compilePosixRegex(pattern: string, flags: RegexFlags): RegExp {
  const key = `${flags.caseInsensitive ? 'i' : ''}${flags.newline}${flags.expanded ? 'x' : ''}${flags.literal ? 'q' : ''}\u0000${pattern}`;
  const cached = REGEX_CACHE.get(key);
  if (cached !== undefined) return cached;
  const f: MutableFlags = { ...flags };
  let body = pattern;
  if (body.startsWith('***=')) {
    f.literal = true;
    body = body.slice(4);
  } else if (body.startsWith('***:')) {
    body = body.slice(4);
  }
  if (!f.literal && body.startsWith('(?')) {
    const close = body.indexOf(')');
    const letters = close < 0 ? '' : body.slice(2, close);
    if (/^[a-z]+$/.test(letters)) {
      for (const c of letters) if (!applyRegexOption(f, c, false)) throw invalidRegex('invalid embedded option');
      body = body.slice(close + 1);
    }
  }
  const source = f.literal ? Array.from(body, literalOutside).join('') : translatePosix(body, f);
  let js = 'gu';
  if (f.caseInsensitive) js += 'i';
  if (f.newline === 'full' || f.newline === 'inverse') js += 'm';
  let re: RegExp;
  try {
    re = new RegExp(source, js);
  } catch (err) {
    throw invalidRegex(jsRegexError(err instanceof Error ? err.message : String(err)));
  }
  if (REGEX_CACHE.size >= REGEX_CACHE_SIZE) REGEX_CACHE.delete(REGEX_CACHE.keys().next().value!);
  REGEX_CACHE.set(key, re);
  return re;
}

/**
 * The matches of `re` in `s` from UTF-16 offset `from`: the first only, or every one (after an
 * empty match the search moves on one character). Reentrant: the position is kept here, not in
 * the shared RegExp between matches.
 */
export function* regexMatches(re: RegExp, s: string, from: number, global: boolean): Generator<RegExpExecArray, void, undefined> {
  let position = from;
  while (position <= s.length) {
    re.lastIndex = position;
    const m = re.exec(s);
    if (m === null) return;
    yield m;
    if (!global) return;
    const end = m.index + m[0].length;
    position = m[0].length > 0 ? end : end + (s.codePointAt(end) !== undefined && s.codePointAt(end)! > 0xffff ? 2 : 1);
  }
}

/** A SIMILAR TO pattern part as a JavaScript regex; `lazy` makes its wildcards match as little as possible. */
function translateSimilar(p: string, escape: string | undefined, lazy: boolean): string {
  let out = '';
  const star = lazy ? '*?' : '*';
  for (let i = 0; i < p.length; i++) {
    const ch = String.fromCodePoint(p.codePointAt(i)!);
    if (ch.length === 2) i++;
    if (escape !== undefined && ch === escape) {
      i++;
      if (i >= p.length) throw new SqlError(SqlState.invalidEscapeSequence, 'invalid escape string', { hint: 'Escape string must be empty or one character.' });
      const next = String.fromCodePoint(p.codePointAt(i)!);
      if (next.length === 2) i++;
      out += literalOutside(next);
      continue;
    }
    switch (ch) {
      case '%':
        out += `[\\s\\S]${star}`;
        break;
      case '_':
        out += '[\\s\\S]';
        break;
      case '*':
      case '+':
        out += lazy ? `${ch}?` : ch;
        break;
      case '(':
        out += '(?:';
        break;
      case '|':
      case ')':
      case '?':
      case '{':
      case '}':
        out += ch;
        break;
      case '[': {
        const end = p.indexOf(']', i + 2);
        if (end < 0) throw invalidRegex('brackets [] not balanced');
        out += p.slice(i, end + 1);
        i = end;
        break;
      }
      default:
        out += literalOutside(ch);
    }
  }
  return out;
}

/** substring(s similar pattern escape esc): the part between the escape-double-quote separators. */
export function similarSubstring(s: string, pattern: string, escape: string): string | null {
  if (Array.from(escape).length > 1) throw new SqlError(SqlState.invalidEscapeSequence, 'invalid escape string', { hint: 'Escape string must be empty or one character.' });
  const esc = escape === '' ? undefined : escape;
  const parts: string[] = [];
  let last = 0;
  if (esc !== undefined) {
    for (let i = 0; i < pattern.length; i++) {
      if (pattern.startsWith(esc, i)) {
        if (pattern[i + esc.length] === '"') {
          parts.push(pattern.slice(last, i));
          last = i + esc.length + 1;
          i = last - 1;
        } else i += esc.length;
      }
    }
  }
  parts.push(pattern.slice(last));
  if (parts.length > 3) {
    throw new SqlError(INVALID_USE_OF_ESCAPE_CHARACTER, 'SQL regular expression may not contain more than two escape-double-quote separators');
  }
  let source: string;
  if (parts.length === 1) source = `^(?:${translateSimilar(parts[0]!, esc, false)})$`;
  else {
    const rest = parts.length === 3 ? `(?:${translateSimilar(parts[2]!, esc, false)})` : '';
    source = `^(?:${translateSimilar(parts[0]!, esc, true)})(${translateSimilar(parts[1]!, esc, false)})${rest}$`;
  }
  let re: RegExp;
  try {
    re = new RegExp(source, 'u');
  } catch (err) {
    throw invalidRegex(jsRegexError(err instanceof Error ? err.message : String(err)));
  }
  const m = re.exec(s);
  if (m === null) return null;
  return parts.length === 1 ? m[0] : (m[1] ?? null);
}

// ---- regular expression functions ------------------------------------------------------------------------

function regexFlagsArg(v: Datum | undefined): RegexFlags {
  return parseRegexFlags(v === undefined ? '' : (v as string));
}

function refuseGlobal(flags: RegexFlags, fn: string, hint?: string): void {
  if (flags.global) {
    throw new SqlError(SqlState.invalidParameterValue, `${fn}() does not support the "global" option`, hint === undefined ? {} : { hint });
  }
}

/** regexp_replace's replacement text: \1..\9 a group, \& the whole match, \\ a backslash. */
function expandReplacement(replacement: string, m: RegExpExecArray): string {
  if (!replacement.includes('\\')) return replacement;
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i]!;
    if (c !== '\\' || i + 1 >= replacement.length) {
      out += c;
      continue;
    }
    const d = replacement[i + 1]!;
    if (d >= '1' && d <= '9') {
      out += m[Number(d)] ?? '';
      i++;
    } else if (d === '&') {
      out += m[0];
      i++;
    } else if (d === '\\') {
      out += '\\';
      i++;
    } else out += c;
  }
  return out;
}

function positiveParameter(name: string, v: number): number {
  if (v <= 0) throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "${name}": ${v}`);
  return v;
}

/** regexp_replace: from character `start` on, the `n`th match (0: every match) replaced. */
function regexpReplace(s: string, pattern: string, replacement: string, start: number, n: number, flags: RegexFlags): string {
  const re = compilePosixRegex(pattern, flags);
  const from = utf16Offset(s, start - 1);
  let out = s.slice(0, from);
  let last = from;
  let count = 0;
  for (const m of regexMatches(re, s, from, true)) {
    count++;
    if (n !== 0 && count !== n) continue;
    out += s.slice(last, m.index) + expandReplacement(replacement, m);
    last = m.index + m[0].length;
    checkResultLength(out.length);
    if (n !== 0) break;
  }
  return out + s.slice(last);
}

defineScalar(
  'regexp_replace',
  { params: [T, T, T], returns: Types.text, impl: (a) => regexpReplace(a[0] as string, a[1] as string, a[2] as string, 1, 1, regexFlagsArg(undefined)) },
  {
    params: [T, T, T, T],
    returns: Types.text,
    impl: (a) => {
      const flags = regexFlagsArg(a[3]);
      return regexpReplace(a[0] as string, a[1] as string, a[2] as string, 1, flags.global ? 0 : 1, flags);
    },
  },
  {
    params: [T, T, T, Oid.int4],
    returns: Types.text,
    impl: (a) => regexpReplace(a[0] as string, a[1] as string, a[2] as string, positiveParameter('start', a[3] as number), 1, regexFlagsArg(undefined)),
  },
  {
    params: [T, T, T, Oid.int4, Oid.int4],
    returns: Types.text,
    impl: (a) => regexpReplaceNth(a, undefined),
  },
  {
    params: [T, T, T, Oid.int4, Oid.int4, T],
    returns: Types.text,
    impl: (a) => regexpReplaceNth(a, a[5]),
  },
);

function regexpReplaceNth(a: Datum[], flagsText: Datum | undefined): string {
  const start = positiveParameter('start', a[3] as number);
  const n = a[4] as number;
  if (n < 0) throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "n": ${n}`);
  return regexpReplace(a[0] as string, a[1] as string, a[2] as string, start, n, regexFlagsArg(flagsText));
}

/** The groups of a match as regexp_match reports them: the whole match when there are none. */
export function matchGroups(m: RegExpExecArray): SqlArray {
  if (m.length === 1) return new SqlArray(Oid.text, [m[0]]);
  return new SqlArray(Oid.text, m.slice(1).map((g) => g ?? null));
}

const regexpMatch = (a: Datum[], flagsText: Datum | undefined): Datum => {
  const flags = regexFlagsArg(flagsText);
  refuseGlobal(flags, 'regexp_match', 'Use the regexp_matches function instead.');
  const re = compilePosixRegex(a[1] as string, flags);
  for (const m of regexMatches(re, a[0] as string, 0, false)) return matchGroups(m);
  return null;
};
defineScalar(
  'regexp_match',
  { params: [T, T], returns: Types.textArray, impl: (a) => regexpMatch(a, undefined) },
  { params: [T, T, T], returns: Types.textArray, impl: (a) => regexpMatch(a, a[2]) },
);

/** regexp_split_to_array and _table: the pieces between matches, skipping degenerate empty matches. */
export function regexSplit(s: string, pattern: string, flagsText: string, fn: string): string[] {
  const flags = parseRegexFlags(flagsText);
  refuseGlobal(flags, fn);
  const re = compilePosixRegex(pattern, flags);
  const pieces: string[] = [];
  let last = 0;
  let previousEnd = 0;
  for (const m of regexMatches(re, s, 0, true)) {
    const end = m.index + m[0].length;
    // A match counts only if it starts before the end and ends past the previous match.
    if (m.index < s.length && end > previousEnd) {
      pieces.push(s.slice(last, m.index));
      last = end;
    }
    previousEnd = end;
  }
  pieces.push(s.slice(last));
  return pieces;
}

defineScalar(
  'regexp_split_to_array',
  { params: [T, T], returns: Types.textArray, impl: (a) => new SqlArray(Oid.text, regexSplit(a[0] as string, a[1] as string, '', 'regexp_split_to_array')) },
  { params: [T, T, T], returns: Types.textArray, impl: (a) => new SqlArray(Oid.text, regexSplit(a[0] as string, a[1] as string, a[2] as string, 'regexp_split_to_array')) },
);

function regexpLike(a: Datum[], flagsText: Datum | undefined): boolean {
  const flags = regexFlagsArg(flagsText);
  refuseGlobal(flags, 'regexp_like');
  const re = compilePosixRegex(a[1] as string, flags);
  for (const _m of regexMatches(re, a[0] as string, 0, false)) return true;
  return false;
}
defineScalar(
  'regexp_like',
  { params: [T, T], returns: Types.bool, impl: (a) => regexpLike(a, undefined) },
  { params: [T, T, T], returns: Types.bool, impl: (a) => regexpLike(a, a[2]) },
);

function regexpCount(a: Datum[]): number {
  const s = a[0] as string;
  const start = a[2] === undefined ? 1 : positiveParameter('start', a[2] as number);
  const flags = regexFlagsArg(a[3]);
  refuseGlobal(flags, 'regexp_count');
  let n = 0;
  for (const _m of regexMatches(compilePosixRegex(a[1] as string, flags), s, utf16Offset(s, start - 1), true)) n++;
  return n;
}
defineScalar(
  'regexp_count',
  { params: [T, T], returns: Types.int4, impl: regexpCount },
  { params: [T, T, Oid.int4], returns: Types.int4, impl: regexpCount },
  { params: [T, T, Oid.int4, T], returns: Types.int4, impl: regexpCount },
);

/** The `n`th match from character `start`, and the group asked for (0: the whole match). */
function nthMatch(s: string, pattern: string, start: number, n: number, flagsText: Datum | undefined, subexpr: number, fn: string): { m: RegExpExecArray; group: number } | undefined {
  const flags = regexFlagsArg(flagsText);
  refuseGlobal(flags, fn);
  if (subexpr < 0) throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "subexpr": ${subexpr}`);
  let count = 0;
  for (const m of regexMatches(compilePosixRegex(pattern, flags), s, utf16Offset(s, start - 1), true)) {
    if (++count === n) return subexpr < m.length ? { m, group: subexpr } : undefined;
  }
  return undefined;
}

function regexpSubstr(a: Datum[]): Datum {
  const s = a[0] as string;
  const start = a[2] === undefined ? 1 : positiveParameter('start', a[2] as number);
  const n = a[3] === undefined ? 1 : positiveParameter('n', a[3] as number);
  const found = nthMatch(s, a[1] as string, start, n, a[4], a[5] === undefined ? 0 : (a[5] as number), 'regexp_substr');
  if (found === undefined) return null;
  return found.m[found.group] ?? null;
}
defineScalar(
  'regexp_substr',
  { params: [T, T], returns: Types.text, impl: regexpSubstr },
  { params: [T, T, Oid.int4], returns: Types.text, impl: regexpSubstr },
  { params: [T, T, Oid.int4, Oid.int4], returns: Types.text, impl: regexpSubstr },
  { params: [T, T, Oid.int4, Oid.int4, T], returns: Types.text, impl: regexpSubstr },
  { params: [T, T, Oid.int4, Oid.int4, T, Oid.int4], returns: Types.text, impl: regexpSubstr },
);

function regexpInstr(a: Datum[]): number {
  const s = a[0] as string;
  const start = a[2] === undefined ? 1 : positiveParameter('start', a[2] as number);
  const n = a[3] === undefined ? 1 : positiveParameter('n', a[3] as number);
  const endOption = a[4] === undefined ? 0 : (a[4] as number);
  if (endOption !== 0 && endOption !== 1) throw new SqlError(SqlState.invalidParameterValue, `invalid value for parameter "endoption": ${endOption}`);
  const found = nthMatch(s, a[1] as string, start, n, a[5], a[6] === undefined ? 0 : (a[6] as number), 'regexp_instr');
  if (found === undefined) return 0;
  const { m, group } = found;
  const text = m[group];
  if (text === undefined) return 0;
  // The group's offset: search for it from the match start (JS reports only the match's offset).
  const offset = group === 0 ? m.index : s.indexOf(text, m.index);
  return charIndexOf(s, offset + (endOption === 1 ? text.length : 0)) + 1;
}
defineScalar(
  'regexp_instr',
  { params: [T, T], returns: Types.int4, impl: regexpInstr },
  { params: [T, T, Oid.int4], returns: Types.int4, impl: regexpInstr },
  { params: [T, T, Oid.int4, Oid.int4], returns: Types.int4, impl: regexpInstr },
  { params: [T, T, Oid.int4, Oid.int4, Oid.int4], returns: Types.int4, impl: regexpInstr },
  { params: [T, T, Oid.int4, Oid.int4, Oid.int4, T], returns: Types.int4, impl: regexpInstr },
  { params: [T, T, Oid.int4, Oid.int4, Oid.int4, T, Oid.int4], returns: Types.int4, impl: regexpInstr },
);
