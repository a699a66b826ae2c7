// The text form of every SQL value: what a client sends in a literal or a text-format parameter,
// and what a text-format result column carries. parseText is PostgreSQL's typinput function and
// formatText its typoutput, type by type, with PostgreSQL's error wording and SQLSTATEs. Type
// modifiers are not applied here (casts.ts does that), except where the input syntax itself
// depends on them (time and timestamp precision, interval fields).
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, SqlRecord, type Datum, type TimeTz } from './datum.js';
import { formatFloat4, formatFloat8, parseFloat4, parseFloat8 } from './float.js';
import { Numeric } from './numeric.js';
import { Oid, elementTypeOf, type SqlType } from './oids.js';
import type { TypeSettings } from './settings.js';
// The date/time, interval, json and uuid types are another module's; every call to them from this
// file is in the two dispatch functions at the end.
import {
  formatDate,
  formatTime,
  formatTimeTz,
  formatTimestamp,
  formatTimestampTz,
  parseDate,
  parseTime,
  parseTimeTz,
  parseTimestamp,
  parseTimestampTz,
} from './datetime.js';
import { Interval } from './interval.js';
import { Jsonb, validateJson } from './jsonb.js';
import { parseUuid } from './uuid.js';

/** Longest text parseText reads, in UTF-16 units (PostgreSQL's limit for a field is 1 GB; ours is lower). */
export const MAX_TEXT_INPUT_LENGTH = 64 * 1024 * 1024;
/** Most array dimensions (PostgreSQL's MAXDIM). */
export const MAX_ARRAY_DIMENSIONS = 6;
/** Most elements an array literal may hold (PostgreSQL's MaxArraySize is about 134 million). */
export const MAX_ARRAY_ELEMENTS = 10_000_000;
/** name values hold at most NAMEDATALEN - 1 bytes. */
export const NAME_MAX_BYTES = 63;

const UTF8 = new TextEncoder();

/** The text output function of `type` applied to a non-null value. */
export function formatText(value: Datum, type: SqlType, s: TypeSettings): string {
  if (value === null) throw new SqlError(SqlState.internalError, 'formatText called with a NULL value');
  switch (type.oid) {
    case Oid.bool:
      return value === true ? 't' : 'f';
    case Oid.int2:
    case Oid.int4:
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
    case Oid.int8:
      return String(value);
    case Oid.float4:
      return formatFloat4(value as number, s.extraFloatDigits);
    case Oid.float8:
      return formatFloat8(value as number, s.extraFloatDigits);
    case Oid.numeric:
      return (value as Numeric).toString();
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
    case Oid.unknown:
      return value as string;
    case Oid.char:
      return formatChar(value as string);
    case Oid.bytea:
      return formatBytea(value as Uint8Array, s.byteaOutput);
    case Oid.void:
      return '';
    case Oid.int2vector:
    case Oid.oidvector:
      return (value as SqlArray).values.map((v) => String(v)).join(' ');
    case Oid.record:
      return formatRecord(value as SqlRecord, s);
    default: {
      const element = elementTypeOf(type.oid);
      if (element !== 0) return formatArray(value as SqlArray, { oid: element, typmod: type.typmod }, s);
      return formatOtherText(value, type, s);
    }
  }
}

/** The text input function of `type`: text to a Datum, or a SqlError with PostgreSQL's wording. */
export function parseText(text: string, type: SqlType, s: TypeSettings): Datum {
  if (text.length > MAX_TEXT_INPUT_LENGTH) {
    throw new SqlError(SqlState.programLimitExceeded, `input value is too long (more than ${MAX_TEXT_INPUT_LENGTH} characters)`);
  }
  switch (type.oid) {
    case Oid.bool:
      return parseBool(text);
    case Oid.int2:
      return parseInt2(text);
    case Oid.int4:
      return parseInt4(text);
    case Oid.int8:
      return parseInt8(text);
    case Oid.oid:
      return parseOid(text);
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      return parseRegOid(text, type.oid);
    case Oid.float4:
      return parseFloat4(text);
    case Oid.float8:
      return parseFloat8(text);
    case Oid.numeric:
      return Numeric.parse(text);
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.unknown:
      return text;
    case Oid.name:
      return truncateUtf8(text, NAME_MAX_BYTES);
    case Oid.char:
      return parseChar(text);
    case Oid.bytea:
      return parseBytea(text);
    case Oid.int2vector:
      return parseIntVector(text, Oid.int2);
    case Oid.oidvector:
      return parseIntVector(text, Oid.oid);
    case Oid.record:
      throw new SqlError(SqlState.featureNotSupported, 'input of anonymous composite types is not implemented');
    case Oid.void:
      return null;
    default: {
      const element = elementTypeOf(type.oid);
      if (element !== 0) return parseArray(text, { oid: element, typmod: type.typmod }, s);
      return parseOtherText(text, type, s);
    }
  }
}

// ---- bool, integers, oid ----

/** boolin: t/true/yes/on/1 and f/false/no/off/0, any unique prefix, any case, spaces around. */
export function parseBool(text: string): boolean {
  const v = trimSpace(text).toLowerCase();
  const n = v.length;
  if (n > 0) {
    switch (v[0]) {
      case 't':
        if ('true'.startsWith(v)) return true;
        break;
      case 'y':
        if ('yes'.startsWith(v)) return true;
        break;
      case 'f':
        if ('false'.startsWith(v)) return false;
        break;
      case 'n':
        if ('no'.startsWith(v)) return false;
        break;
      case 'o':
        // "o" alone is ambiguous between on and off.
        if (v === 'on') return true;
        if (n >= 2 && 'off'.startsWith(v)) return false;
        break;
      case '1':
        if (n === 1) return true;
        break;
      case '0':
        if (n === 1) return false;
        break;
    }
  }
  throw new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type boolean: "${text}"`);
}

/** isspace() in the C locale: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * The digits of an integer literal (sign included, surrounding spaces and leading zeros removed),
 * or undefined when the text is not one.
 */
function integerToken(text: string): string | undefined {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  let i = start;
  const c = text.charCodeAt(i);
  if (c === 0x2b || c === 0x2d) i++;
  if (i === end) return undefined;
  for (let j = i; j < end; j++) {
    const d = text.charCodeAt(j);
    if (d < 0x30 || d > 0x39) return undefined;
  }
  let first = i;
  while (first < end - 1 && text.charCodeAt(first) === 0x30) first++;
  // "-0" is 0: the sign goes with the zeros.
  const sign = text[start] === '-' && !(first === end - 1 && text.charCodeAt(first) === 0x30) ? '-' : '';
  return first === i && sign === '' && start === i ? text.slice(start, end) : sign + text.slice(first, end);
}

function parseBoundedInt(text: string, typeName: string, min: number, max: number): number {
  const token = integerToken(text);
  if (token === undefined) throw new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type ${typeName}: "${text}"`);
  // Up to 15 digits the double is exact; longer tokens are out of range for 32-bit types anyway.
  const v = token.length <= 16 ? Number(token) : NaN;
  if (!(v >= min && v <= max)) {
    throw new SqlError(SqlState.numericValueOutOfRange, `value "${text}" is out of range for type ${typeName}`);
  }
  return v === 0 ? 0 : v;
}

export function parseInt2(text: string): number {
  return parseBoundedInt(text, 'smallint', -32768, 32767);
}

export function parseInt4(text: string): number {
  return parseBoundedInt(text, 'integer', -2147483648, 2147483647);
}

const INT8_MIN = -(1n << 63n);
const INT8_MAX = (1n << 63n) - 1n;

export function parseInt8(text: string): bigint {
  const token = integerToken(text);
  if (token === undefined) throw new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type bigint: "${text}"`);
  const v = token.length <= 21 ? BigInt(token) : undefined;
  if (v === undefined || v < INT8_MIN || v > INT8_MAX) {
    throw new SqlError(SqlState.numericValueOutOfRange, `value "${text}" is out of range for type bigint`);
  }
  return v;
}

/**
 * oidin: an unsigned 32-bit number. Like strtoul, a negative number wraps around, so "-1" is
 * 4294967295; values that fit neither as unsigned nor as signed 32-bit are out of range.
 */
export function parseOid(text: string, typeName = 'oid'): number {
  const token = integerToken(text);
  if (token === undefined) throw new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type ${typeName}: "${text}"`);
  const v = token.length <= 16 ? Number(token) : NaN;
  if (v >= 0 && v <= 0xffffffff) return v;
  if (v < 0 && v >= -2147483648) return v + 0x100000000;
  throw new SqlError(SqlState.numericValueOutOfRange, `value "${text}" is out of range for type ${typeName}`);
}

const REG_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [Oid.regclass, 'regclass'],
  [Oid.regtype, 'regtype'],
  [Oid.regproc, 'regproc'],
  [Oid.regprocedure, 'regprocedure'],
  [Oid.regnamespace, 'regnamespace'],
  [Oid.regrole, 'regrole'],
]);

/** reg* types as bare OIDs: resolving a name ('pg_class'::regclass) is the catalog's job. */
function parseRegOid(text: string, oid: number): number {
  const name = REG_TYPE_NAMES.get(oid) ?? 'oid';
  if (integerToken(text) === undefined) throw new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type ${name}: "${text}"`);
  return parseOid(text, name);
}

/** int2vectorin / oidvectorin: numbers separated by spaces. */
function parseIntVector(text: string, element: number): SqlArray {
  const parts = text.split(/[ \t\n\r\v\f]+/).filter((p) => p !== '');
  const values = parts.map((p) => (element === Oid.int2 ? parseInt2(p) : parseOid(p)));
  // int2vector and oidvector subscripts start at 0.
  return new SqlArray(element, values, 0);
}

// ---- text types ----

/** The longest prefix of `text` whose UTF-8 form fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.codePointAt(i)!;
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (bytes + n > maxBytes) break;
    bytes += n;
    i += c >= 0x10000 ? 2 : 1;
  }
  return text.slice(0, i);
}

/**
 * charin: the "char" type holds one byte. Its Datum is a string of at most one code unit below 256:
 * the byte itself (a byte ≥ 0x80 is the first byte of a multi-byte character, kept as that code).
 * "\ooo" (three octal digits) is a byte given in octal.
 */
export function parseChar(text: string): string {
  if (text.length === 4 && text[0] === '\\' && /^[0-7]{3}$/.test(text.slice(1))) {
    // Three octal digits, kept to one byte as C's char keeps them ("\400" is 0).
    const b = parseInt(text.slice(1), 8) & 0xff;
    return b === 0 ? '' : String.fromCharCode(b);
  }
  if (text.length === 0) return '';
  const c = text.codePointAt(0)!;
  if (c < 0x80) return text[0]!;
  return String.fromCharCode(UTF8.encode(String.fromCodePoint(c))[0]!);
}

/** charout: a byte ≥ 0x80 prints as "\ooo". */
export function formatChar(value: string): string {
  if (value.length === 0) return '';
  const b = value.charCodeAt(0);
  if (b >= 0x80) return `\\${b.toString(8).padStart(3, '0')}`;
  return value[0]!;
}

// ---- bytea ----

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** byteain: "\x" followed by hex pairs (spaces between pairs allowed), or the escape format. */
export function parseBytea(text: string): Uint8Array {
  if (text.length >= 2 && text[0] === '\\' && text[1] === 'x') {
    const out = new Uint8Array((text.length - 2) >> 1);
    let n = 0;
    let i = 2;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
        i++;
        continue;
      }
      const hi = hexValue(c);
      if (hi < 0) throw new SqlError(SqlState.invalidParameterValue, `invalid hexadecimal digit: "${String.fromCodePoint(text.codePointAt(i)!)}"`);
      if (i + 1 >= text.length) throw new SqlError(SqlState.invalidParameterValue, 'invalid hexadecimal data: odd number of digits');
      const lo = hexValue(text.charCodeAt(i + 1));
      if (lo < 0) throw new SqlError(SqlState.invalidParameterValue, `invalid hexadecimal digit: "${String.fromCodePoint(text.codePointAt(i + 1)!)}"`);
      out[n++] = (hi << 4) | lo;
      i += 2;
    }
    return out.slice(0, n);
  }
  const raw = UTF8.encode(text);
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; ) {
    const b = raw[i]!;
    if (b !== 0x5c) {
      out[n++] = b;
      i++;
    } else if (raw[i + 1] === 0x5c) {
      out[n++] = 0x5c;
      i += 2;
    } else if (
      i + 3 < raw.length &&
      raw[i + 1]! >= 0x30 && raw[i + 1]! <= 0x33 &&
      raw[i + 2]! >= 0x30 && raw[i + 2]! <= 0x37 &&
      raw[i + 3]! >= 0x30 && raw[i + 3]! <= 0x37
    ) {
      out[n++] = ((raw[i + 1]! - 0x30) << 6) | ((raw[i + 2]! - 0x30) << 3) | (raw[i + 3]! - 0x30);
      i += 4;
    } else {
      throw new SqlError(SqlState.invalidTextRepresentation, 'invalid input syntax for type bytea');
    }
  }
  return out.slice(0, n);
}

/** byteaout in the "hex" (\x0102) or "escape" (\001\002) format. */
export function formatBytea(bytes: Uint8Array, format: 'hex' | 'escape'): string {
  if (format === 'hex') return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
  const parts: string[] = [];
  for (const b of bytes) {
    if (b === 0x5c) parts.push('\\\\');
    else if (b < 0x20 || b > 0x7e) parts.push(`\\${b >> 6}${(b >> 3) & 7}${b & 7}`);
    else parts.push(String.fromCharCode(b));
  }
  return parts.join('');
}

// ---- arrays ----

/** Whether array_out must quote an element's text. */
function needsArrayQuotes(text: string): boolean {
  if (text.length === 0) return true;
  if (text.length === 4 && text.toUpperCase() === 'NULL') return true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x7b || c === 0x7d || c === 0x2c || isSpace(c)) return true;
  }
  return false;
}

function quoteArrayElement(text: string): string {
  return needsArrayQuotes(text) ? `"${text.replace(/["\\]/g, (m) => `\\${m}`)}"` : text;
}

/** The dimensions of a (rectangular) array: lengths and lower bounds, outermost first. */
export function arrayDimensions(a: SqlArray): { lengths: number[]; lowerBounds: number[] } {
  // An int2vector or oidvector element is itself a SqlArray, but not a dimension.
  const vectorElements = a.elementType === Oid.int2vector || a.elementType === Oid.oidvector;
  const lengths: number[] = [];
  const lowerBounds: number[] = [];
  let level: SqlArray | undefined = a;
  while (level !== undefined) {
    if (level.values.length === 0) break;
    lengths.push(level.values.length);
    lowerBounds.push(level.lowerBound);
    const first: Datum | undefined = level.values[0];
    level = first instanceof SqlArray && !vectorElements ? first : undefined;
  }
  return { lengths, lowerBounds };
}

/** array_out */
export function formatArray(a: SqlArray, element: SqlType, s: TypeSettings): string {
  const { lengths, lowerBounds } = arrayDimensions(a);
  if (lengths.length === 0) return '{}';
  let prefix = '';
  if (lowerBounds.some((lb) => lb !== 1)) {
    prefix = `${lengths.map((n, i) => `[${lowerBounds[i]!}:${lowerBounds[i]! + n - 1}]`).join('')}=`;
  }
  const parts: string[] = [prefix];
  // A sub-array is a dimension, except that an int2vector or oidvector element prints as "1 2 3".
  const vectors = element.oid === Oid.int2vector || element.oid === Oid.oidvector;
  const walk = (level: SqlArray): void => {
    parts.push('{');
    level.values.forEach((v, i) => {
      if (i > 0) parts.push(',');
      if (v instanceof SqlArray && !vectors) walk(v);
      else parts.push(v === null ? 'NULL' : quoteArrayElement(formatText(v, element, s)));
    });
    parts.push('}');
  };
  walk(a);
  return parts.join('');
}

function malformedArray(text: string, detail: string): SqlError {
  return new SqlError(SqlState.invalidTextRepresentation, `malformed array literal: "${text}"`, { detail });
}

/** An element of an array literal as read: its text and whether it was the bare word NULL. */
interface RawElement {
  readonly text: string;
  readonly isNull: boolean;
}

/** A nested level of an array literal: either sub-levels or elements. */
type RawLevel = { readonly kind: 'levels'; readonly items: RawLevel[] } | { readonly kind: 'elements'; readonly items: RawElement[] };

/** array_in: '{1,2,3}', '{{1,2},{3,4}}', '{"a b",NULL}', optionally '[0:2]={...}'. */
export function parseArray(text: string, element: SqlType, s: TypeSettings): SqlArray {
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };
  skipSpace();
  // Explicit dimensions: [lb:ub][lb:ub]= (or [ub], meaning [1:ub]).
  const explicitLower: number[] = [];
  const explicitUpper: number[] = [];
  while (i < n && text[i] === '[') {
    i++;
    const first = readDimensionNumber();
    if (first === undefined) throw malformedArray(text, '"[" must introduce explicitly-specified array dimensions.');
    let lower = 1;
    let upper = first;
    if (text[i] === ':') {
      i++;
      const second = readDimensionNumber();
      if (second === undefined) throw malformedArray(text, 'Missing array dimension value.');
      lower = first;
      upper = second;
    }
    if (text[i] !== ']') throw malformedArray(text, 'Missing "]" after array dimensions.');
    i++;
    if (upper < lower) throw new SqlError(SqlState.arraySubscriptError, 'upper bound cannot be less than lower bound');
    explicitLower.push(lower);
    explicitUpper.push(upper);
    if (explicitLower.length > MAX_ARRAY_DIMENSIONS) {
      throw new SqlError(SqlState.programLimitExceeded, `number of array dimensions (${explicitLower.length}) exceeds the maximum allowed (${MAX_ARRAY_DIMENSIONS})`);
    }
  }
  if (explicitLower.length > 0) {
    skipSpace();
    if (text[i] !== '=') throw malformedArray(text, 'Missing "=" after array dimensions.');
    i++;
    skipSpace();
  }
  if (text[i] !== '{') throw malformedArray(text, 'Array value must start with "{" or dimension information.');

  function readDimensionNumber(): number | undefined {
    const m = /^[+-]?\d+/.exec(text.slice(i, i + 12));
    if (m === null) return undefined;
    i += m[0].length;
    return Number(m[0]);
  }

  let elementCount = 0;
  const readLevel = (depth: number): RawLevel => {
    if (depth > MAX_ARRAY_DIMENSIONS) {
      throw new SqlError(SqlState.programLimitExceeded, `number of array dimensions (${depth}) exceeds the maximum allowed (${MAX_ARRAY_DIMENSIONS})`);
    }
    i++; // the '{'
    skipSpace();
    if (text[i] === '}') {
      if (depth > 1) throw malformedArray(text, 'Unexpected "}" character.');
      i++;
      return { kind: 'elements', items: [] };
    }
    const levels: RawLevel[] = [];
    const elements: RawElement[] = [];
    for (;;) {
      skipSpace();
      if (i >= n) throw malformedArray(text, 'Unexpected end of input.');
      const c = text[i];
      if (c === '{') {
        if (elements.length > 0) throw malformedArray(text, 'Unexpected "{" character.');
        levels.push(readLevel(depth + 1));
      } else if (c === '}' || c === ',') {
        throw malformedArray(text, `Unexpected "${c}" character.`);
      } else {
        if (levels.length > 0) throw malformedArray(text, 'Unexpected array element.');
        elements.push(readElement());
        if (++elementCount > MAX_ARRAY_ELEMENTS) {
          throw new SqlError(SqlState.programLimitExceeded, `array size exceeds the maximum allowed (${MAX_ARRAY_ELEMENTS})`);
        }
      }
      skipSpace();
      if (i >= n) throw malformedArray(text, 'Unexpected end of input.');
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        break;
      }
      throw malformedArray(text, 'Unexpected array element.');
    }
    return levels.length > 0 ? { kind: 'levels', items: levels } : { kind: 'elements', items: elements };
  };

  const readElement = (): RawElement => {
    if (text[i] === '"') {
      i++;
      let value = '';
      let from = i;
      for (;;) {
        if (i >= n) throw malformedArray(text, 'Unexpected end of input.');
        const c = text[i];
        if (c === '\\') {
          value += text.slice(from, i);
          i++;
          if (i >= n) throw malformedArray(text, 'Unexpected end of input.');
          value += text[i];
          i++;
          from = i;
        } else if (c === '"') {
          value += text.slice(from, i);
          i++;
          return { text: value, isNull: false };
        } else {
          i++;
        }
      }
    }
    // Unquoted: up to the next delimiter; trailing spaces that were not escaped are dropped.
    let value = '';
    let keep = 0; // length of value that must survive trimming (ends after the last escape)
    let escaped = false;
    for (;;) {
      if (i >= n) throw malformedArray(text, 'Unexpected end of input.');
      const c = text[i]!;
      if (c === ',' || c === '}') break;
      if (c === '{') throw malformedArray(text, 'Unexpected "{" character.');
      if (c === '"') throw malformedArray(text, 'Unexpected array element.');
      if (c === '\\') {
        i++;
        if (i >= n) throw malformedArray(text, 'Unexpected end of input.');
        value += text[i];
        keep = value.length;
        escaped = true;
        i++;
        continue;
      }
      value += c;
      i++;
    }
    let end = value.length;
    while (end > keep && isSpace(value.charCodeAt(end - 1))) end--;
    value = value.slice(0, end);
    return { text: value, isNull: !escaped && value.length === 4 && value.toUpperCase() === 'NULL' };
  };

  const root = readLevel(1);
  skipSpace();
  if (i < n) throw malformedArray(text, 'Junk after closing right brace.');

  // Rectangularity: every level at one depth has the same length and kind.
  const lengths: number[] = [];
  const check = (level: RawLevel, depth: number): void => {
    if (lengths[depth] === undefined) lengths[depth] = level.items.length;
    else if (lengths[depth] !== level.items.length) {
      throw malformedArray(text, 'Multidimensional arrays must have sub-arrays with matching dimensions.');
    }
    if (level.kind === 'levels') {
      for (const sub of level.items) check(sub, depth + 1);
    } else if (depth + 1 < lengths.length) {
      throw malformedArray(text, 'Multidimensional arrays must have sub-arrays with matching dimensions.');
    }
  };
  check(root, 0);
  const isEmpty = root.kind === 'elements' && root.items.length === 0;
  const dims = isEmpty ? 0 : lengths.length;
  if (explicitLower.length > 0) {
    const matches =
      explicitLower.length === dims && explicitLower.every((lb, d) => explicitUpper[d]! - lb + 1 === lengths[d]);
    if (!matches) throw malformedArray(text, 'Specified array dimensions do not match array contents.');
  }
  const build = (level: RawLevel, depth: number): SqlArray => {
    const lb = explicitLower[depth] ?? 1;
    if (level.kind === 'levels') return new SqlArray(element.oid, level.items.map((l) => build(l, depth + 1)), lb);
    return new SqlArray(element.oid, level.items.map((e) => (e.isNull ? null : parseText(e.text, element, s))), lb);
  };
  return build(root, 0);
}

// ---- records ----

/** record_out: (a,b,...) with an element quoted when empty or holding ", \, (, ), a comma or space. */
export function formatRecord(r: SqlRecord, s: TypeSettings): string {
  const parts = r.values.map((v, i) => {
    if (v === null) return '';
    const t = formatText(v, { oid: r.types[i] ?? Oid.text, typmod: -1 }, s);
    let quote = t.length === 0;
    for (let j = 0; j < t.length && !quote; j++) {
      const c = t.charCodeAt(j);
      if (c === 0x22 || c === 0x5c || c === 0x28 || c === 0x29 || c === 0x2c || isSpace(c)) quote = true;
    }
    return quote ? `"${t.replace(/["\\]/g, (m) => m + m)}"` : t;
  });
  return `(${parts.join(',')})`;
}

/** UTF-8 bytes of a string, for callers that measure or hash text. */
export function utf8Bytes(text: string): Uint8Array {
  return UTF8.encode(text);
}

// ---- the other module's types: date/time, interval, json, uuid ----

function formatOtherText(value: Datum, type: SqlType, s: TypeSettings): string {
  switch (type.oid) {
    case Oid.date:
      return formatDate(value as number, s);
    case Oid.time:
      return formatTime(value as bigint);
    case Oid.timetz:
      return formatTimeTz(value as TimeTz);
    case Oid.timestamp:
      return formatTimestamp(value as bigint, s);
    case Oid.timestamptz:
      return formatTimestampTz(value as bigint, s);
    case Oid.interval:
      return (value as Interval).format(s);
    case Oid.uuid:
    case Oid.json:
      return value as string;
    case Oid.jsonb:
      return (value as Jsonb).toString();
    default:
      throw new SqlError(SqlState.featureNotSupported, `no text output for type with OID ${type.oid}`);
  }
}

function parseOtherText(text: string, type: SqlType, s: TypeSettings): Datum {
  switch (type.oid) {
    case Oid.date:
      return parseDate(text, s);
    case Oid.time:
      return parseTime(text, type.typmod, s);
    case Oid.timetz:
      return parseTimeTz(text, type.typmod, s);
    case Oid.timestamp:
      return parseTimestamp(text, type.typmod, s);
    case Oid.timestamptz:
      return parseTimestampTz(text, type.typmod, s);
    case Oid.interval:
      return Interval.parse(text, type.typmod, s);
    case Oid.uuid:
      return parseUuid(text);
    case Oid.json:
      return validateJson(text);
    case Oid.jsonb:
      return Jsonb.parse(text);
    default:
      throw new SqlError(SqlState.featureNotSupported, `no text input for type with OID ${type.oid}`);
  }
}
