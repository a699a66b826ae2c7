// Casts between SQL types: which exist and in which contexts (pg_cast's castcontext, plus
// PostgreSQL's automatic I/O conversion casts: any type to a string type in assignment, a string
// type to any type explicitly), and the conversions themselves, including the type-modifier
// coercions that follow every cast: varchar(n)/char(n) length, numeric(p,s), time, timestamp and
// interval precision. Conversions between date and timestamps use the session time zone.
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, TIMESTAMP_INFINITY, TIMESTAMP_MAX, TIMESTAMP_MIN, TIMESTAMP_NEG_INFINITY, type Datum, type TimeTz } from './datum.js';
import { formatChar, formatText, parseChar, parseText, truncateUtf8, NAME_MAX_BYTES } from './text_io.js';
import { parseFloat4, parseFloat8 } from './float.js';
import { Numeric } from './numeric.js';
import { Oid, elementTypeOf, formatType, typeInfo, type SqlType } from './oids.js';
import type { TypeSettings } from './settings.js';
import { stripTrailingSpaces } from './compare.js';
// Date/time, interval and jsonb values belong to other modules; this file calls only their zone
// conversions, precision rounding and jsonb parsing.
import { roundTimePrecision, roundTimestampPrecision, timestampToTimestampTz, timestampTzToTimestamp } from './datetime.js';
import { Interval, roundIntervalForTypmod } from './interval.js';
import { Jsonb } from './jsonb.js';

/** When a cast may be applied without being written: in expressions, in assignments, or only when asked for. */
export type CastContext = 'implicit' | 'assignment' | 'explicit';

const CONTEXT_RANK: Readonly<Record<CastContext, number>> = { implicit: 0, assignment: 1, explicit: 2 };

/** Whether a cast of context `castContext` may be applied where `allowed` is allowed. */
export function castAllowed(castContext: CastContext, allowed: CastContext): boolean {
  return CONTEXT_RANK[castContext] <= CONTEXT_RANK[allowed];
}

// pg_cast rows between the types Cairn has (PostgreSQL 15): source, target, context.
const PG_CAST: ReadonlyArray<readonly [number, number, CastContext]> = [
  [Oid.char, Oid.bpchar, 'assignment'],
  [Oid.char, Oid.varchar, 'assignment'],
  [Oid.char, Oid.int4, 'explicit'],
  [Oid.char, Oid.text, 'implicit'],
  [Oid.int8, Oid.float8, 'implicit'],
  [Oid.int8, Oid.int4, 'assignment'],
  [Oid.int8, Oid.numeric, 'implicit'],
  [Oid.int8, Oid.oid, 'implicit'],
  [Oid.int8, Oid.float4, 'implicit'],
  [Oid.int8, Oid.regclass, 'implicit'],
  [Oid.int8, Oid.regnamespace, 'implicit'],
  [Oid.int8, Oid.regproc, 'implicit'],
  [Oid.int8, Oid.regprocedure, 'implicit'],
  [Oid.int8, Oid.regrole, 'implicit'],
  [Oid.int8, Oid.regtype, 'implicit'],
  [Oid.int8, Oid.int2, 'assignment'],
  [Oid.bool, Oid.bpchar, 'assignment'],
  [Oid.bool, Oid.varchar, 'assignment'],
  [Oid.bool, Oid.int4, 'explicit'],
  [Oid.bool, Oid.text, 'assignment'],
  [Oid.bpchar, Oid.char, 'assignment'],
  [Oid.bpchar, Oid.varchar, 'implicit'],
  [Oid.bpchar, Oid.name, 'implicit'],
  [Oid.bpchar, Oid.text, 'implicit'],
  [Oid.varchar, Oid.char, 'assignment'],
  [Oid.varchar, Oid.bpchar, 'implicit'],
  [Oid.varchar, Oid.name, 'implicit'],
  [Oid.varchar, Oid.regclass, 'implicit'],
  [Oid.varchar, Oid.text, 'implicit'],
  [Oid.date, Oid.timestamptz, 'implicit'],
  [Oid.date, Oid.timestamp, 'implicit'],
  [Oid.float8, Oid.int8, 'assignment'],
  [Oid.float8, Oid.int4, 'assignment'],
  [Oid.float8, Oid.numeric, 'assignment'],
  [Oid.float8, Oid.float4, 'assignment'],
  [Oid.float8, Oid.int2, 'assignment'],
  [Oid.int4, Oid.char, 'explicit'],
  [Oid.int4, Oid.int8, 'implicit'],
  [Oid.int4, Oid.bool, 'explicit'],
  [Oid.int4, Oid.float8, 'implicit'],
  [Oid.int4, Oid.numeric, 'implicit'],
  [Oid.int4, Oid.oid, 'implicit'],
  [Oid.int4, Oid.float4, 'implicit'],
  [Oid.int4, Oid.regclass, 'implicit'],
  [Oid.int4, Oid.regnamespace, 'implicit'],
  [Oid.int4, Oid.regproc, 'implicit'],
  [Oid.int4, Oid.regprocedure, 'implicit'],
  [Oid.int4, Oid.regrole, 'implicit'],
  [Oid.int4, Oid.regtype, 'implicit'],
  [Oid.int4, Oid.int2, 'assignment'],
  [Oid.interval, Oid.time, 'assignment'],
  [Oid.json, Oid.jsonb, 'assignment'],
  [Oid.jsonb, Oid.int8, 'explicit'],
  [Oid.jsonb, Oid.bool, 'explicit'],
  [Oid.jsonb, Oid.float8, 'explicit'],
  [Oid.jsonb, Oid.int4, 'explicit'],
  [Oid.jsonb, Oid.json, 'assignment'],
  [Oid.jsonb, Oid.numeric, 'explicit'],
  [Oid.jsonb, Oid.float4, 'explicit'],
  [Oid.jsonb, Oid.int2, 'explicit'],
  [Oid.name, Oid.bpchar, 'assignment'],
  [Oid.name, Oid.varchar, 'assignment'],
  [Oid.name, Oid.text, 'implicit'],
  [Oid.numeric, Oid.int8, 'assignment'],
  [Oid.numeric, Oid.float8, 'implicit'],
  [Oid.numeric, Oid.int4, 'assignment'],
  [Oid.numeric, Oid.float4, 'implicit'],
  [Oid.numeric, Oid.int2, 'assignment'],
  [Oid.oid, Oid.int8, 'assignment'],
  [Oid.oid, Oid.int4, 'assignment'],
  [Oid.oid, Oid.regclass, 'implicit'],
  [Oid.oid, Oid.regnamespace, 'implicit'],
  [Oid.oid, Oid.regproc, 'implicit'],
  [Oid.oid, Oid.regprocedure, 'implicit'],
  [Oid.oid, Oid.regrole, 'implicit'],
  [Oid.oid, Oid.regtype, 'implicit'],
  [Oid.float4, Oid.int8, 'assignment'],
  [Oid.float4, Oid.float8, 'implicit'],
  [Oid.float4, Oid.int4, 'assignment'],
  [Oid.float4, Oid.numeric, 'assignment'],
  [Oid.float4, Oid.int2, 'assignment'],
  [Oid.regclass, Oid.int8, 'assignment'],
  [Oid.regclass, Oid.int4, 'assignment'],
  [Oid.regclass, Oid.oid, 'implicit'],
  [Oid.regnamespace, Oid.int8, 'assignment'],
  [Oid.regnamespace, Oid.int4, 'assignment'],
  [Oid.regnamespace, Oid.oid, 'implicit'],
  [Oid.regproc, Oid.int8, 'assignment'],
  [Oid.regproc, Oid.int4, 'assignment'],
  [Oid.regproc, Oid.oid, 'implicit'],
  [Oid.regproc, Oid.regprocedure, 'implicit'],
  [Oid.regprocedure, Oid.int8, 'assignment'],
  [Oid.regprocedure, Oid.int4, 'assignment'],
  [Oid.regprocedure, Oid.oid, 'implicit'],
  [Oid.regprocedure, Oid.regproc, 'implicit'],
  [Oid.regrole, Oid.int8, 'assignment'],
  [Oid.regrole, Oid.int4, 'assignment'],
  [Oid.regrole, Oid.oid, 'implicit'],
  [Oid.regtype, Oid.int8, 'assignment'],
  [Oid.regtype, Oid.int4, 'assignment'],
  [Oid.regtype, Oid.oid, 'implicit'],
  [Oid.int2, Oid.int8, 'implicit'],
  [Oid.int2, Oid.float8, 'implicit'],
  [Oid.int2, Oid.int4, 'implicit'],
  [Oid.int2, Oid.numeric, 'implicit'],
  [Oid.int2, Oid.oid, 'implicit'],
  [Oid.int2, Oid.float4, 'implicit'],
  [Oid.int2, Oid.regclass, 'implicit'],
  [Oid.int2, Oid.regnamespace, 'implicit'],
  [Oid.int2, Oid.regproc, 'implicit'],
  [Oid.int2, Oid.regprocedure, 'implicit'],
  [Oid.int2, Oid.regrole, 'implicit'],
  [Oid.int2, Oid.regtype, 'implicit'],
  [Oid.text, Oid.char, 'assignment'],
  [Oid.text, Oid.bpchar, 'implicit'],
  [Oid.text, Oid.varchar, 'implicit'],
  [Oid.text, Oid.name, 'implicit'],
  [Oid.text, Oid.regclass, 'implicit'],
  [Oid.timetz, Oid.time, 'assignment'],
  [Oid.time, Oid.interval, 'implicit'],
  [Oid.time, Oid.timetz, 'implicit'],
  [Oid.timestamptz, Oid.date, 'assignment'],
  [Oid.timestamptz, Oid.timetz, 'assignment'],
  [Oid.timestamptz, Oid.time, 'assignment'],
  [Oid.timestamptz, Oid.timestamp, 'assignment'],
  [Oid.timestamp, Oid.date, 'assignment'],
  [Oid.timestamp, Oid.time, 'assignment'],
  [Oid.timestamp, Oid.timestamptz, 'implicit'],
];

const CASTS = new Map<number, CastContext>();
for (const [from, to, context] of PG_CAST) CASTS.set(from * 65536 + to, context);

const USECS_PER_DAY = 86_400_000_000n;

/** Whether a type is in PostgreSQL's string category (text, varchar, bpchar, name). */
function isStringType(oid: number): boolean {
  return oid === Oid.text || oid === Oid.varchar || oid === Oid.bpchar || oid === Oid.name;
}

/**
 * The context of the cast from one type to another, or undefined when there is none (the caller
 * raises 42846 "cannot cast type x to y").
 */
export function castContextOf(fromOid: number, toOid: number): CastContext | undefined {
  if (fromOid === toOid) return 'implicit';
  const direct = CASTS.get(fromOid * 65536 + toOid);
  if (direct !== undefined) return direct;
  const fromElement = elementTypeOf(fromOid);
  const toElement = elementTypeOf(toOid);
  if (fromElement !== 0 && toElement !== 0) return castContextOf(fromElement, toElement);
  if (typeInfo(fromOid) === undefined || typeInfo(toOid) === undefined) return undefined;
  if (fromOid === Oid.unknown) return 'implicit';
  if (isStringType(toOid) && !isPseudoType(fromOid)) return 'assignment';
  if (isStringType(fromOid) && !isPseudoType(toOid)) return 'explicit';
  return undefined;
}

function isPseudoType(oid: number): boolean {
  return typeInfo(oid)?.category === 'P';
}

function cannotCast(from: SqlType, to: SqlType): SqlError {
  return new SqlError(SqlState.datatypeMismatch, `cannot cast type ${formatType(from)} to ${formatType(to)}`);
}

/**
 * Converts a value of type `from` to type `to` (a cast castContextOf allows), then applies the
 * target's type modifier as the cast `context` requires. NULL stays NULL.
 */
export function castDatum(value: Datum, from: SqlType, to: SqlType, s: TypeSettings, context: CastContext): Datum {
  if (value === null) return null;
  const toElement = elementTypeOf(to.oid);
  if (toElement !== 0 && value instanceof SqlArray) {
    const fromElement = elementTypeOf(from.oid);
    if (fromElement !== 0) return castArray(value, { oid: fromElement, typmod: from.typmod }, { oid: toElement, typmod: to.typmod }, s, context);
  }
  if (from.oid === to.oid) {
    if (from.typmod === to.typmod || to.typmod < 0) return value;
    return coerceTypmod(value, to, context);
  }
  const converted = convert(value, from, to, s);
  if (converted === null || to.typmod < 0) return converted;
  return coerceTypmod(converted, to, context);
}

function castArray(a: SqlArray, from: SqlType, to: SqlType, s: TypeSettings, context: CastContext): SqlArray {
  const values = a.values.map((v) => (v instanceof SqlArray ? castArray(v, from, to, s, context) : castDatum(v, from, to, s, context)));
  return new SqlArray(to.oid, values, a.lowerBound);
}

// ---- conversions ----

function convert(value: Datum, from: SqlType, to: SqlType, s: TypeSettings): Datum {
  const f = from.oid;
  const t = to.oid;
  if (isStringType(t)) {
    let text: string;
    if (isStringType(f)) text = f === Oid.bpchar ? stripTrailingSpaces(value as string) : (value as string);
    else if (f === Oid.bool) text = value === true ? 'true' : 'false';
    else if (f === Oid.char) text = formatChar(value as string);
    else if (f === Oid.unknown) text = value as string;
    else text = formatText(value, from, s);
    return t === Oid.name ? truncateUtf8(text, NAME_MAX_BYTES) : text;
  }
  if (isStringType(f) || f === Oid.unknown) {
    const text = f === Oid.bpchar ? stripTrailingSpaces(value as string) : (value as string);
    if (t === Oid.char) return parseChar(value as string);
    return parseText(text, { oid: t, typmod: to.typmod }, s);
  }
  if (f === Oid.jsonb && t !== Oid.json) return castJsonbScalar(value as Jsonb, to, s);
  switch (t) {
    case Oid.int2:
      return toInteger(value, f, 16, from, to) as number;
    case Oid.int4:
      return toInteger(value, f, 32, from, to) as number;
    case Oid.int8:
      return toInteger(value, f, 64, from, to);
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      return toOid(value, f, from, to);
    case Oid.float4:
    case Oid.float8:
      return toFloat(value, f, t === Oid.float4, from, to);
    case Oid.numeric:
      return toNumeric(value, f, from, to);
    case Oid.bool:
      if (f === Oid.int4) return (value as number) !== 0;
      throw cannotCast(from, to);
    case Oid.char: {
      if (f !== Oid.int4) throw cannotCast(from, to);
      const v = value as number;
      if (v < -128 || v > 127) throw new SqlError(SqlState.numericValueOutOfRange, '"char" out of range');
      return v === 0 ? '' : String.fromCharCode(v & 0xff);
    }
    case Oid.json:
      if (f === Oid.jsonb) return (value as Jsonb).toString();
      throw cannotCast(from, to);
    case Oid.jsonb:
      if (f === Oid.json) return Jsonb.parse(value as string);
      throw cannotCast(from, to);
    default:
      return convertDateTime(value, f, t, from, to, s);
  }
}

function rangeError(bits: number): SqlError {
  return new SqlError(SqlState.numericValueOutOfRange, `${bits === 16 ? 'smallint' : bits === 32 ? 'integer' : 'bigint'} out of range`);
}

const INT_LIMITS: Readonly<Record<number, readonly [bigint, bigint]>> = {
  16: [-32768n, 32767n],
  32: [-2147483648n, 2147483647n],
  64: [-(1n << 63n), (1n << 63n) - 1n],
};

/** rint(): round half to even, as PostgreSQL's float → integer casts do. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function toInteger(value: Datum, f: number, bits: 16 | 32 | 64, from: SqlType, to: SqlType): number | bigint {
  const [min, max] = INT_LIMITS[bits]!;
  let v: bigint;
  switch (f) {
    case Oid.int2:
    case Oid.int4:
      v = BigInt(value as number);
      break;
    case Oid.int8:
      v = value as bigint;
      break;
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      // oid → integer reinterprets the 32 bits; oid → bigint keeps the unsigned value.
      if (bits === 32) return (value as number) | 0;
      v = BigInt(value as number);
      break;
    case Oid.float4:
    case Oid.float8: {
      const r = roundHalfEven(value as number);
      if (Number.isNaN(r) || !(r >= Number(min) && r < -Number(min))) throw rangeError(bits);
      v = BigInt(r);
      break;
    }
    case Oid.numeric:
      v = (value as Numeric).toBigInt(bits === 16 ? 'smallint' : bits === 32 ? 'integer' : 'bigint');
      break;
    case Oid.bool:
      v = value === true ? 1n : 0n;
      break;
    case Oid.char: {
      const s = value as string;
      const b = s.length === 0 ? 0 : s.charCodeAt(0);
      v = BigInt(b >= 128 ? b - 256 : b);
      break;
    }
    default:
      throw cannotCast(from, to);
  }
  if (v < min || v > max) throw rangeError(bits);
  return bits === 64 ? v : Number(v);
}

function toOid(value: Datum, f: number, from: SqlType, to: SqlType): number {
  switch (f) {
    case Oid.int2:
    case Oid.int4:
      return (value as number) >>> 0;
    case Oid.int8: {
      const v = value as bigint;
      if (v < 0n || v > 0xffffffffn) throw new SqlError(SqlState.numericValueOutOfRange, 'OID out of range');
      return Number(v);
    }
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      return value as number;
    default:
      throw cannotCast(from, to);
  }
}

const FLOAT4_EXACT_LIMIT = 1 << 24;

function toFloat(value: Datum, f: number, single: boolean, from: SqlType, to: SqlType): number {
  switch (f) {
    case Oid.int2:
    case Oid.int4:
      return single ? Math.fround(value as number) : (value as number);
    case Oid.int8: {
      const v = value as bigint;
      if (!single) return Number(v);
      // Rounding through a double first could round twice; the decimal text rounds once.
      return v > -FLOAT4_EXACT_LIMIT && v < FLOAT4_EXACT_LIMIT ? Number(v) : parseFloat4(v.toString());
    }
    case Oid.float4:
      return value as number;
    case Oid.float8: {
      const v = value as number;
      if (!single) return v;
      const r = Math.fround(v);
      if (!Number.isFinite(r) && Number.isFinite(v)) throw new SqlError(SqlState.numericValueOutOfRange, 'value out of range: overflow');
      if (r === 0 && v !== 0) throw new SqlError(SqlState.numericValueOutOfRange, 'value out of range: underflow');
      return r;
    }
    case Oid.numeric: {
      const text = (value as Numeric).toString();
      return single ? parseFloat4(text) : parseFloat8(text);
    }
    default:
      throw cannotCast(from, to);
  }
}

function toNumeric(value: Datum, f: number, from: SqlType, to: SqlType): Numeric {
  switch (f) {
    case Oid.int2:
    case Oid.int4:
      return Numeric.fromInt(value as number);
    case Oid.int8:
      return Numeric.fromBigInt(value as bigint);
    case Oid.float4:
      return Numeric.fromNumber(value as number, 6);
    case Oid.float8:
      return Numeric.fromNumber(value as number, 15);
    default:
      throw cannotCast(from, to);
  }
}

/** jsonb → bool and number casts: the jsonb must be a scalar of the right kind. */
function castJsonbScalar(j: Jsonb, to: SqlType, s: TypeSettings): Datum {
  const v = j.value;
  // PostgreSQL's names for the kinds in these errors ("cannot cast jsonb string to type integer").
  const kind =
    v === null ? 'null'
    : typeof v === 'boolean' ? 'boolean'
    : typeof v === 'string' ? 'string'
    : v instanceof Numeric ? 'numeric'
    : Array.isArray(v) ? 'array'
    : 'object';
  const wanted = to.oid === Oid.bool ? 'boolean' : 'numeric';
  if (kind !== wanted) throw new SqlError(SqlState.invalidParameterValue, `cannot cast jsonb ${kind} to type ${formatType({ oid: to.oid, typmod: -1 })}`);
  if (to.oid === Oid.bool) return v === true;
  const n = v as Numeric;
  return to.oid === Oid.numeric ? n : convert(n, { oid: Oid.numeric, typmod: -1 }, to, s);
}

// ---- date and time ----

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function timeOfDay(ts: bigint): bigint {
  const r = ts % USECS_PER_DAY;
  return r < 0n ? r + USECS_PER_DAY : r;
}

function isInfiniteTimestamp(ts: bigint): boolean {
  return ts === TIMESTAMP_INFINITY || ts === TIMESTAMP_NEG_INFINITY;
}

function dateToTimestamp(days: number): bigint {
  if (days === Infinity) return TIMESTAMP_INFINITY;
  if (days === -Infinity) return TIMESTAMP_NEG_INFINITY;
  const ts = BigInt(days) * USECS_PER_DAY;
  if (ts < TIMESTAMP_MIN || ts > TIMESTAMP_MAX) throw new SqlError(SqlState.datetimeFieldOverflow, 'date out of range for timestamp');
  return ts;
}

function timestampToDate(ts: bigint): number {
  if (ts === TIMESTAMP_INFINITY) return Infinity;
  if (ts === TIMESTAMP_NEG_INFINITY) return -Infinity;
  return Number(floorDiv(ts, USECS_PER_DAY));
}

/** Seconds east of UTC of the session zone at UTC instant `utc`. */
function zoneOffsetAt(utc: bigint, s: TypeSettings): number {
  return Number((timestampTzToTimestamp(utc, s) - utc) / 1_000_000n);
}

function convertDateTime(value: Datum, f: number, t: number, from: SqlType, to: SqlType, s: TypeSettings): Datum {
  switch (t) {
    case Oid.timestamp:
      if (f === Oid.date) return dateToTimestamp(value as number);
      if (f === Oid.timestamptz) return timestampTzToTimestamp(value as bigint, s);
      break;
    case Oid.timestamptz:
      if (f === Oid.date) {
        const ts = dateToTimestamp(value as number);
        return isInfiniteTimestamp(ts) ? ts : timestampToTimestampTz(ts, s);
      }
      if (f === Oid.timestamp) return timestampToTimestampTz(value as bigint, s);
      break;
    case Oid.date:
      if (f === Oid.timestamp) return timestampToDate(value as bigint);
      if (f === Oid.timestamptz) {
        const v = value as bigint;
        return timestampToDate(isInfiniteTimestamp(v) ? v : timestampTzToTimestamp(v, s));
      }
      break;
    case Oid.time:
      // An infinite timestamp has no time of day: PostgreSQL returns NULL.
      if (f === Oid.timestamp) return isInfiniteTimestamp(value as bigint) ? null : timeOfDay(value as bigint);
      if (f === Oid.timestamptz) {
        const v = value as bigint;
        return isInfiniteTimestamp(v) ? null : timeOfDay(timestampTzToTimestamp(v, s));
      }
      if (f === Oid.timetz) return (value as TimeTz).micros;
      if (f === Oid.interval) return timeOfDay((value as Interval).micros);
      break;
    case Oid.timetz:
      if (f === Oid.timestamptz) {
        const v = value as bigint;
        if (isInfiniteTimestamp(v)) return null;
        const local = timestampTzToTimestamp(v, s);
        return { micros: timeOfDay(local), offsetSeconds: Number((local - v) / 1_000_000n) };
      }
      if (f === Oid.time) {
        // The zone's offset today, as PostgreSQL takes it from the current date.
        return { micros: value as bigint, offsetSeconds: zoneOffsetAt(BigInt(Date.now()) * 1000n, s) };
      }
      break;
    case Oid.interval:
      if (f === Oid.time) return new Interval(0, 0, value as bigint);
      break;
  }
  throw cannotCast(from, to);
}

// ---- type modifiers ----

function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) n--;
  }
  return n;
}

/** The first n code points of s. */
function codePointPrefix(s: string, n: number): string {
  let count = 0;
  let i = 0;
  while (i < s.length && count < n) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
    count++;
  }
  return s.slice(0, i);
}

function lengthCoerce(s: string, max: number, typeName: string, pad: boolean, context: CastContext): string {
  // A string of at most max UTF-16 units has at most max code points; padding needs the exact count.
  const len = s.length <= max && !pad ? s.length : codePointLength(s);
  if (len <= max) return pad && len < max ? s + ' '.repeat(max - len) : s;
  const kept = codePointPrefix(s, max);
  if (context !== 'explicit' && !/^ *$/.test(s.slice(kept.length))) {
    throw new SqlError(SqlState.stringDataRightTruncation, `value too long for type ${typeName}(${max})`);
  }
  return kept;
}

/** Applies a type modifier to a value already of the target type. */
export function coerceTypmod(value: Datum, to: SqlType, context: CastContext): Datum {
  if (value === null || to.typmod < 0) return value;
  switch (to.oid) {
    case Oid.varchar:
      return lengthCoerce(value as string, to.typmod - 4, 'character varying', false, context);
    case Oid.bpchar:
      return lengthCoerce(value as string, to.typmod - 4, 'character', true, context);
    case Oid.numeric:
      return (value as Numeric).applyTypmod(to.typmod);
    case Oid.timestamp:
    case Oid.timestamptz: {
      const v = value as bigint;
      return isInfiniteTimestamp(v) ? v : roundTimestampPrecision(v, to.typmod);
    }
    case Oid.time:
      return roundTimePrecision(value as bigint, to.typmod);
    case Oid.timetz: {
      const t = value as TimeTz;
      return { micros: roundTimePrecision(t.micros, to.typmod), offsetSeconds: t.offsetSeconds };
    }
    case Oid.interval:
      return roundIntervalForTypmod(value as Interval, to.typmod);
    default:
      return value;
  }
}
